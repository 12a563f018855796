/**
 * The one form an email address is stored, looked up and compared in: trimmed, Unicode NFC (so
 * that `é` typed as one code point or as `e` and a combining accent is one address, not two
 * accounts that look alike), lower-cased (CONTRACT §4: duplicates are case-insensitive).
 */
export function canonicalEmail(input: string): string {
  return input.trim().normalize('NFC').toLowerCase();
}

import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/**
 * Newest-first keyset pagination on (created_at, id): stable under concurrent inserts and
 * index-friendly, unlike OFFSET. Fetches `limit + 1` rows so the caller knows if more exist.
 */
export function keysetPage<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  limit: number,
  after?: { createdAt: Date; id: string },
  timeProperty = 'createdAt',
): SelectQueryBuilder<T> {
  if (after) {
    qb.andWhere(`(${alias}.${timeProperty}, ${alias}.id) < (:afterAt, :afterId)`, {
      afterAt: after.createdAt,
      afterId: after.id,
    });
  }
  return qb
    .orderBy(`${alias}.${timeProperty}`, 'DESC')
    .addOrderBy(`${alias}.id`, 'DESC')
    .limit(limit + 1);
}

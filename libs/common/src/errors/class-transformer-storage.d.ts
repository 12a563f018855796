// class-transformer keeps its decorator metadata in this module and ships its types elsewhere.
declare module 'class-transformer/cjs/storage' {
  export { defaultMetadataStorage } from 'class-transformer/types/storage';
}

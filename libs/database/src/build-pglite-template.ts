/** `npm run build`'s last step (postbuild): the embedded store's template, see pglite-template.ts. */
import { buildPgliteTemplate } from './pglite-template';

buildPgliteTemplate().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

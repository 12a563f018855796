import { DataSource } from 'typeorm';
import { validateEnv } from '@lib/config';
import { dataSourceOptions, ENTITIES_GLOB } from './data-source.options';
import { EmbeddedPostgres } from './embedded-postgres';

/**
 * The data source of `npm run migration:*`, built from the same env and options as the app.
 * On the embedded store the service must be stopped first: PGlite is a single process.
 */
async function cliDataSource(): Promise<DataSource> {
  const env = validateEnv(process.env);
  const settings = { poolSize: 1, migrationsRun: false };
  if (env.DATABASE_URL) {
    return new DataSource({
      ...dataSourceOptions({ url: env.DATABASE_URL }, settings),
      entities: [ENTITIES_GLOB],
    });
  }
  const embedded = await EmbeddedPostgres.start(env.DATA_DIR);
  const dataSource = new DataSource({ ...dataSourceOptions(embedded, settings), entities: [ENTITIES_GLOB] });
  // The CLI only knows the data source, so the store is closed with it.
  const destroy = dataSource.destroy.bind(dataSource);
  dataSource.destroy = async () => {
    await destroy();
    await embedded.stop();
  };
  return dataSource;
}

export default cliDataSource();

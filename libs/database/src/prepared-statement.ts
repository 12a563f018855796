import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * A named prepared statement run straight on the data source's pg pool, for hot reads of one
 * statement: it skips TypeORM's query runner (an object, a connect and release, logger and
 * subscriber calls per query), and PostgreSQL parses and plans it once per connection. The pool
 * is TypeORM's own, so on the embedded store it still waits for the single connection like any
 * other query. Not inside a transaction: that runs on the transaction's EntityManager.
 */
export class PreparedStatement<Row> {
  constructor(
    private readonly name: string,
    private readonly text: string,
  ) {}

  async rows(dataSource: DataSource, values: unknown[]): Promise<Row[]> {
    const pool = (dataSource.driver as PostgresDriver).master as Pool;
    const result = await pool.query({ name: this.name, text: this.text, values });
    return result.rows as Row[];
  }
}

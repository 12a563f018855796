import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Failed logins per account in the current window; in the store so lockouts hold across replicas. */
@Entity('login_failures')
export class LoginFailure {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'PK_login_failures' })
  email!: string;

  @Column({ type: 'integer' })
  failures!: number;

  @Column({ name: 'window_started_at', type: 'timestamptz' })
  windowStartedAt!: Date;
}

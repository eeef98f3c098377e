/**
 * OpenID Connect sign-in (issue #21).
 *
 * - `users.oidc_subject`: `<issuer> <sub>` of a user provisioned by the identity provider
 *   (unique; null for local users). Such a user has no usable password.
 * - `sessions.oidc_tokens`: the provider's tokens of a session signed in through it, sealed like
 *   TOTP secrets (src/auth/totp.ts); used for the periodic re-check at the provider and for
 *   RP-initiated logout. `sessions.oidc_checked_at`: when the provider last confirmed the user.
 * - `oidc_flows`: one row per sign-in under way (state, nonce, PKCE verifier), keyed by the
 *   sha256 of the random id in the browser's flow cookie; used once, expires after 10 minutes.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('oidc_subject', 512).nullable().unique();
  });
  await knex.schema.alterTable('sessions', (t) => {
    t.text('oidc_tokens').nullable();
    t.bigInteger('oidc_checked_at').nullable();
  });
  await knex.schema.createTable('oidc_flows', (t) => {
    t.string('id_hash', 64).primary();
    t.string('state', 128).notNullable();
    t.string('nonce', 128).notNullable();
    t.string('code_verifier', 128).notNullable();
    t.string('next_path', 1024).notNullable();
    t.bigInteger('expires_at').notNullable();
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('oidc_flows');
  await knex.schema.alterTable('sessions', (t) => {
    t.dropColumn('oidc_checked_at');
    t.dropColumn('oidc_tokens');
  });
  await knex.schema.alterTable('users', (t) => {
    t.dropUnique(['oidc_subject']);
    t.dropColumn('oidc_subject');
  });
}

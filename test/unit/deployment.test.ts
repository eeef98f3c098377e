/**
 * The container files cannot run here (no Docker engine), so they are checked
 * statically: docker-compose.yml parses (the `yaml` package, YAML 1.2; no
 * network or Python needed) and wires the services as documented, the env example yields a valid
 * callrec configuration and carries placeholders only, and the Dockerfile keeps
 * its promises (multi-stage Node 24, ffmpeg, non-root, healthcheck).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { commands } from '../../src/cli/commands.js';
import { loadConfig } from '../../src/config.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  restart?: string;
}

function parseYaml(file: string): unknown {
  return parse(read(file), { merge: true, strict: true, uniqueKeys: true }); // merge: compose's `<<: *anchor`
}

function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

/** Compose-style `${VAR}`, `${VAR:-default}`, `${VAR:?message}` interpolation from `env`. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_m, name: string, kind?: string, rest?: string) => {
    if (env[name] !== undefined && env[name] !== '') return env[name]!;
    if (kind === '-') return rest ?? '';
    throw new Error(`${name} is required: ${rest ?? ''}`);
  });
}

const CONFIG_VARIABLES = [...read('src/config.ts').matchAll(/^\s+(CALLREC_[A-Z0-9_]+):/gm)].map((m) => m[1]!);

describe('deployment files', function () {
  let compose: { name: string; services: Record<string, Service>; volumes: Record<string, unknown> };
  const example = parseEnvFile(read('deploy/callrec.env.example'));

  before(function () {
    compose = parseYaml('docker-compose.yml') as typeof compose;
  });

  it('when docker-compose.yml is parsed, then PostgreSQL, MinIO, the bucket setup and callrec are wired in order', function () {
    expect(Object.keys(compose.services).sort()).to.deep.equal(['callrec', 'minio', 'postgres', 'setup-bucket']);
    const { callrec, minio, postgres } = compose.services;
    const setup = compose.services['setup-bucket']!;
    expect(callrec!.depends_on).to.deep.equal({
      postgres: { condition: 'service_healthy' },
      'setup-bucket': { condition: 'service_completed_successfully' },
    });
    expect(setup.command).to.deep.equal(['callrec', 'setup-bucket']);
    expect(setup.restart).to.equal('no');
    expect(setup.depends_on).to.deep.equal({ minio: { condition: 'service_healthy' } });
    expect(commands, 'the CLI command the setup service runs').to.have.property('setup-bucket');
    expect(postgres!.healthcheck?.test.join(' ')).to.contain('pg_isready');
    expect(minio!.healthcheck?.test).to.deep.equal(['CMD', 'mc', 'ready', 'local']);
    for (const service of [callrec!, setup]) {
      expect(service.build).to.equal('.');
      expect(service.env_file).to.equal('deploy/callrec.env');
    }
    expect(Object.keys(compose.volumes).sort()).to.deep.equal(['callrec-data', 'minio-data', 'postgres-data']);
  });

  it('when a compose value is a credential, then it comes from the env file and compose refuses to start without it', function () {
    const text = read('docker-compose.yml');
    const used = new Set([...text.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!));
    for (const name of used) expect(example, `${name} is used by docker-compose.yml`).to.have.property(name);
    for (const service of Object.values(compose.services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (/PASSWORD|SECRET|ACCESS_KEY|_USER|DB_URL/.test(key))
          expect(String(value), key).to.match(/\$\{[A-Z0-9_]+:\?/);
      }
    }
  });

  it('when the env example is loaded as compose would, then callrec accepts it as a PostgreSQL + S3 configuration', function () {
    for (const name of Object.keys(example).filter((k) => k.startsWith('CALLREC_'))) {
      expect(CONFIG_VARIABLES, `${name} in deploy/callrec.env.example`).to.include(name);
    }
    const environment = Object.fromEntries(
      Object.entries(compose.services.callrec!.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), example)]),
    );
    const config = loadConfig({ ...example, ...environment });
    expect(config.db.client).to.equal('pg');
    expect(config.store).to.include({
      kind: 's3',
      endpoint: 'http://minio:9000',
      bucket: 'callrec-recordings',
      forcePathStyle: true,
    });
    expect(config.host).to.equal('0.0.0.0');
    expect(config.retention.days).to.equal(30);
  });

  it('when the env example holds a secret, then it is a CHANGE-ME placeholder and the real file is git-ignored', function () {
    for (const [name, value] of Object.entries(example)) {
      if (/PASSWORD|SECRET|INGEST_SOURCES/.test(name)) expect(value, name).to.contain('CHANGE-ME');
    }
    expect(read('.gitignore').split('\n')).to.include('deploy/callrec.env');
    expect(read('.dockerignore').split('\n')).to.include.members([
      '.git',
      'node_modules',
      'storage',
      'deploy/*.env',
      '.env',
    ]);
  });

  it('when the Prometheus alert rules are parsed, then every metric they use is one callrec defines', function () {
    const rules = parseYaml('deploy/prometheus-alerts.yml') as {
      groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
    };
    const defined = new Set([...read('src/metrics.ts').matchAll(/name: '(callrec_[a-z_]+)'/g)].map((m) => m[1]!));
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.length).to.be.greaterThan(3);
    for (const { alert, expr } of alerts) {
      const used = [...expr.matchAll(/\b(callrec_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(count|sum|bucket)$/, ''));
      expect(used.length, alert).to.be.greaterThan(0);
      for (const metric of used) expect([...defined], `${alert}: ${metric}`).to.include(metric);
    }
  });

  it('when the Dockerfile is read, then it builds on Node 24 in two stages and runs ffmpeg-equipped, unprivileged and health-checked', function () {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).to.match(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    expect(dockerfile.match(/^FROM \$\{NODE_IMAGE\} AS (\w+)$/gm)).to.deep.equal([
      'FROM ${NODE_IMAGE} AS build',
      'FROM ${NODE_IMAGE} AS runtime',
    ]);
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).to.match(/apt-get install[^\n]*\bffmpeg\b/);
    expect(runtime).to.match(/^USER callrec:callrec$/m);
    expect(runtime).to.match(/^HEALTHCHECK [\s\S]*\/healthz/m);
    expect(runtime).to.match(/CALLREC_HOST=0\.0\.0\.0/);
    expect(runtime).to.match(/^COPY --from=build \/app\/node_modules/m);
    const build = dockerfile.slice(0, dockerfile.indexOf('AS runtime'));
    expect(build).to.contain("require('sqlite3')");
    expect(build).to.contain('npm prune --omit=dev');
  });
});

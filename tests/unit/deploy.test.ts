import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import Ajv from 'ajv';
import { Copy, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { ConfigSchema, loadConfig } from '../../src/config';
import { BUILD_OUTPUT, ROOT } from '../support/build';

/**
 * Containers do not run on our machines: what can be checked without Docker is checked here. The compose
 * file against the Compose Specification's schema, then what a schema cannot know (the wiring between the
 * services and the files of this repository); the Dockerfile with the linter of the Docker language server,
 * and that its entrypoint is the executable `bun run build` makes (tests/e2e/binary.test.ts boots it).
 */
const DEPLOY = join(ROOT, 'deploy');
const read = (path: string) => Bun.file(join(ROOT, path)).text();
const yaml = async (path: string) => Bun.YAML.parse(await read(path)) as any;

const composeText = await read('deploy/compose.yaml');
const compose = Bun.YAML.parse(composeText) as Record<string, any>;
const services = compose.services as Record<string, Record<string, any>>;
const instances = Object.entries(services).filter(([, service]) => service.build?.dockerfile === 'deploy/Dockerfile');
/** KEY=value lines of an env file; comments and blank lines skipped. */
const envFile = async (path: string) =>
  Object.fromEntries(
    (await read(path))
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
/** `${NAME}`, `${NAME:?message}` and the like: compose's interpolation, given a value for every name. */
const interpolate = (value: string, values: Record<string, string>) => value.replace(/\$\{([A-Z_]+)[^}]*\}/g, (_, name: string) => values[name] ?? '');

describe('deploy/compose.yaml', () => {
  const schema = Bun.file(join(ROOT, 'tests/support/compose-spec/compose-spec.json')).json();
  // The schema names draft-07 by a URL Ajv does not list; it is draft-07, which Ajv speaks by default.
  const validateCompose = schema.then((loaded) => new Ajv({ allErrors: true, strict: false, validateSchema: false }).compile(loaded));

  test('is valid against the Compose Specification schema', async () => {
    const validate = await validateCompose;
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  test('a mistake the schema must catch is caught (the validation is not vacuous)', async () => {
    const validate = await validateCompose;
    const [name, service] = instances[0]!;
    expect(validate({ ...compose, services: { ...services, [name]: { ...service, restart_policy: 'always' } } })).toBe(false);
    expect(validate({ ...compose, services: { ...services, [name]: { ...service, stop_grace_period: 20 } } })).toBe(false);
  });

  test('runs the service twice, from the image of deploy/Dockerfile, each instance with its own CONSUMER_NAME', () => {
    expect(instances.map(([name]) => name)).toEqual(['handover-1', 'handover-2']);
    for (const [, service] of instances) expect(service.build.context).toBe('..');
    expect(new Set(instances.map(([, service]) => service.image)).size).toBe(1);
    const consumers = instances.map(([, service]) => service.environment.CONSUMER_NAME);
    expect(new Set(consumers).size).toBe(2);
  });

  test('sets only settings the service reads, and with handover.env.example filled in, the production start accepts them', async () => {
    const known = new Set(Object.keys(ConfigSchema.properties));
    const example = await envFile('deploy/handover.env.example');
    const composeVariables = await envFile('deploy/.env.example');
    for (const [, service] of instances) {
      expect(Object.keys(service.environment).filter((key) => !known.has(key))).toEqual([]);
      expect(Object.keys(example).filter((key) => !known.has(key))).toEqual([]);
      expect(service.env_file).toEqual([{ path: 'handover.env', required: true }]);
      const placeholders = (values: Record<string, string>) =>
        Object.fromEntries(Object.entries(values).map(([key, value]) => [key, value === '' ? `${key.toLowerCase()}-value` : value]));
      const environment = Object.fromEntries(
        Object.entries(service.environment as Record<string, string>).map(([key, value]) => [key, interpolate(String(value), placeholders(composeVariables))]),
      );
      // What the container sees: the env file, then the compose wiring over it, then the image's own ENV.
      const config = loadConfig({ PORT: '3000', ...placeholders(example), ...environment });
      expect(config.NODE_ENV).toBe('production');
      expect(config.DATABASE_URL).toStartWith('postgres://handover:');
    }
  });

  test('every variable compose interpolates is in deploy/.env.example', async () => {
    const used = new Set([...composeText.matchAll(/\$\{([A-Z_]+)/g)].map((match) => match[1]!));
    const secretsFromEnvironment = Object.values(compose.secrets as Record<string, { environment?: string }>).flatMap((secret) => secret.environment ?? []);
    const listed = Object.keys(await envFile('deploy/.env.example'));
    expect([...used, ...secretsFromEnvironment].filter((name) => !listed.includes(name))).toEqual([]);
  });

  test('every file it mounts from the repository exists', () => {
    const mounts = Object.values(services).flatMap((service) => (service.volumes ?? []) as string[]);
    const fromRepository = mounts.filter((mount) => mount.startsWith('./')).map((mount) => mount.split(':')[0]!);
    expect(fromRepository.length).toBeGreaterThan(4);
    expect(fromRepository.filter((path) => !existsSync(join(DEPLOY, path)))).toEqual([]);
  });

  test('the instances share one media volume at DATA_DIR/media', () => {
    for (const [, service] of instances) {
      expect(service.volumes).toContain(`media:${service.environment.DATA_DIR}/media`);
      expect(service.read_only && service.tmpfs).toEqual(['/tmp']);
    }
    expect(Object.keys(compose.volumes)).toContain('media');
  });

  test('Redis runs with deploy/redis/handover.conf (AOF on, no eviction) and appendfsync always', async () => {
    const redis = services.redis!;
    const [, confPath] = (redis.volumes as string[]).map((mount) => mount.split(':')).find(([from]) => from === './redis/handover.conf')!;
    expect(redis.command.slice(0, 2)).toEqual(['redis-server', confPath]);
    expect(redis.command.slice(2)).toEqual(['--appendfsync', 'always']);
    const conf = await read('deploy/redis/handover.conf');
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    for (const [, service] of instances) expect(service.environment.REDIS_URL).toBe('redis://redis:6379');
  });

  test('Prometheus scrapes /metrics of each instance with METRICS_TOKEN', async () => {
    const prometheus = services.prometheus!;
    const [, configPath] = (prometheus.volumes as string[]).map((mount) => mount.split(':')).find(([from]) => from!.endsWith('prometheus.yml'))!;
    expect(prometheus.command).toContain(`--config.file=${configPath}`);
    const config = await yaml('deploy/prometheus/prometheus.yml');
    const job = config.scrape_configs.find((scrape: { job_name: string }) => scrape.job_name === 'handover');
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs.flatMap((group: { targets: string[] }) => group.targets)).toEqual(instances.map(([name]) => `${name}:3000`));
    const secret = prometheus.secrets.find((mounted: { target: string }) => mounted.target === job.authorization.credentials_file);
    expect(compose.secrets[secret.source]).toEqual({ environment: 'METRICS_TOKEN' });
    for (const [, service] of instances) expect(service.environment.METRICS_TOKEN).toStartWith('${METRICS_TOKEN');
  });

  test('Grafana is provisioned with that Prometheus and the dashboard of deploy/grafana', async () => {
    const grafana = services.grafana!;
    const mounts = new Map((grafana.volumes as string[]).map((mount) => mount.split(':') as [string, string]));
    expect(mounts.get('./grafana/provisioning')).toBe('/etc/grafana/provisioning');
    const datasources = await yaml('deploy/grafana/provisioning/datasources/prometheus.yaml');
    expect(datasources.datasources).toMatchObject([{ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true }]);
    const dashboards = await yaml('deploy/grafana/provisioning/dashboards/handover.yaml');
    expect(dirname(mounts.get('./grafana/handover.json')!)).toBe(dashboards.providers[0].options.path);
    expect(readdirSync(join(DEPLOY, 'grafana/provisioning')).sort()).toEqual(['dashboards', 'datasources']);
  });

  test('Caddy is the one trusted proxy: TRUSTED_PROXIES names its fixed address, and it forwards to both instances', async () => {
    const caddy = services.caddy!;
    const address = caddy.networks.edge.ipv4_address;
    for (const [, service] of instances) expect(service.environment.TRUSTED_PROXIES).toBe(address);
    const subnet = compose.networks.edge.ipam.config[0].subnet as string;
    expect(address.startsWith(subnet.replace(/0\/24$/, ''))).toBe(true);
    const caddyfile = await read('deploy/caddy/Caddyfile');
    expect(caddyfile).toContain(`reverse_proxy ${instances.map(([name]) => `${name}:3000`).join(' ')}`);
    expect(caddyfile).toContain('{$PUBLIC_HOST} {');
    expect(Object.keys(caddy.environment)).toEqual(['PUBLIC_HOST']);
  });
});

describe('deploy/Dockerfile', async () => {
  const text = await read('deploy/Dockerfile');
  const dockerfile = DockerfileParser.parse(text);
  const finalStageLine = dockerfile.getFROMs().at(-1)!.getRange().start.line;
  const finalStage = dockerfile.getInstructions().filter((instruction) => instruction.getRange().start.line >= finalStageLine);
  const only = (keyword: string): Instruction => {
    const found = finalStage.filter((instruction) => instruction.getKeyword() === keyword);
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  // What the final image takes from the build context (COPY --from takes from another stage).
  const copied = finalStage
    .filter((instruction) => instruction instanceof Copy && !instruction.getFlags().some((flag) => flag.getName() === 'from'))
    .map((instruction) => instruction.getArguments().map((argument) => argument.getValue()));

  test('has no problem the Docker language server reports', () => {
    expect(lintDockerfile(text).map((problem) => `${problem.range.start.line + 1}: ${problem.message}`)).toEqual([]);
  });

  test('runs exactly the executable `bun run build` makes, as ENTRYPOINT and as HEALTHCHECK', () => {
    expect(copied).toEqual([[BUILD_OUTPUT, '/app/handover']]);
    const binary = copied[0]![1]!;
    expect(dockerfile.getENTRYPOINTs().map((entrypoint) => entrypoint.getJSONStrings().map((part) => part.getJSONValue()))).toEqual([[binary]]);
    const healthcheck = only('HEALTHCHECK')
      .getArguments()
      .map((argument) => argument.getValue());
    expect(healthcheck[0]).toBe('CMD');
    expect(JSON.parse(healthcheck.slice(1).join(' '))).toEqual([binary, 'healthcheck']);
  });

  test('runs as a user other than root, in production mode, with DATA_DIR on the path compose mounts', () => {
    expect(
      only('USER')
        .getArguments()
        .map((argument) => argument.getValue()),
    ).toEqual(['nonroot']);
    const env = only('ENV')
      .getArguments()
      .map((argument) => argument.getValue());
    expect(env).toContain('NODE_ENV=production');
    expect(env).toContain(`DATA_DIR=${instances[0]![1].environment.DATA_DIR}`);
    expect(posix.isAbsolute(copied[0]![1]!)).toBe(true);
  });

  test('the build context sends the executable, and only it', async () => {
    const ignore = (await read('.dockerignore')).split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(ignore).toEqual(['*', `!${BUILD_OUTPUT}`]);
  });
});

/**
 * docker/compose.yaml and docker/Dockerfile, checked without a Docker engine (none runs on the
 * project's machines): the compose file's lab matches lab/lab.sh's (addresses, one
 * `lab/lab.sh role NODE` per node, privileges, start order, health checks, resolv.conf), and the
 * image installs every apt package scripts/test.sh installs. Where a compose CLI is installed
 * (`docker compose` v2, or Debian's `docker-compose` v1), its `config` must accept the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DOCKER = join(REPO, 'docker');
const COMPOSE_FILE = join(DOCKER, 'compose.yaml');

/** The lab's nodes and addresses (lab/lib/common.sh: ADDR4, ADDR6). */
const LAB = {
  dns: { v4: '192.0.2.53', v6: '2001:db8::53' },
  alice: { v4: '192.0.2.10', v6: '2001:db8::10' },
  bob: { v4: '192.0.2.20', v6: '2001:db8::20' },
} as const;
const NODES = Object.keys(LAB) as (keyof typeof LAB)[];
/** Names whose addresses bob holds besides his own (lab/lib/net.sh: addr_add ... bob plain bogus). */
const BOB_EXTRA = { plain: { v4: '192.0.2.21', v6: '2001:db8::21' }, bogus: { v4: '192.0.2.22', v6: '2001:db8::22' } } as const;

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[] | string;
  depends_on?: Record<string, { condition: string }>;
  networks?: Record<string, { ipv4_address?: string; ipv6_address?: string }>;
  network_mode?: string;
  cap_add?: string[];
  security_opt?: string[];
  sysctls?: Record<string, string | number>;
  dns?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
}
interface ComposeFile {
  services: Record<string, Service>;
  networks: Record<string, { enable_ipv6?: boolean; ipam: { config: { subnet: string; gateway?: string; ip_range?: string }[] } }>;
  volumes: Record<string, unknown>;
}

// `merge: true` resolves the `<<: *lab-node` merge keys as compose does.
const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as ComposeFile;
const service = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker/compose.yaml has no service ${name}`);
  return s;
};
const commandLine = (s: Service): string => (Array.isArray(s.command) ? s.command.join(' ') : s.command ?? '');

/** Words of a shell file with `\` line continuations joined and comments dropped. */
function shellText(file: string): string {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
}

/** The packages of every `apt-get install` in the Dockerfile. */
function dockerfilePackages(): Set<string> {
  const packages = new Set<string>();
  for (const match of shellText(join(DOCKER, 'Dockerfile')).matchAll(/apt-get install([^&;\n]*)/g)) {
    for (const word of match[1]!.split(/\s+/)) if (word && !word.startsWith('-')) packages.add(word);
  }
  return packages;
}

/** scripts/test.sh's `packages=( ... )` list. */
function testScriptPackages(): string[] {
  const text = readFileSync(join(REPO, 'scripts/test.sh'), 'utf8');
  const match = /^packages=\(([^)]*)\)/m.exec(text);
  if (!match) throw new Error('scripts/test.sh has no packages=( ... ) list');
  return match[1]!.split(/\s+/).filter((word) => word && !word.startsWith('#'));
}

/** lab/lib/common.sh's `declare -rA NAME=([node]=addr ...)`, if it still has that form. */
function labAddresses(name: 'ADDR4' | 'ADDR6'): Record<string, string> | undefined {
  const file = join(REPO, 'lab/lib/common.sh');
  if (!existsSync(file)) return undefined;
  const match = new RegExp(`declare -\\w*A ${name}=\\(([^)]*)\\)`).exec(readFileSync(file, 'utf8'));
  if (!match) return undefined;
  return Object.fromEntries([...match[1]!.matchAll(/\[(\w+)\]=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

describe('docker/compose.yaml: the lab', () => {
  const lab4 = labAddresses('ADDR4');
  const lab6 = labAddresses('ADDR6');

  it('has the one-shot zones service and the three nodes, all from the lab image', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['alice', 'bob', 'dns', 'zones']);
    const zones = service('zones');
    expect(zones.build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile' });
    expect(existsSync(resolve(DOCKER, zones.build!.context, zones.build!.dockerfile))).toBe(true);
    for (const name of Object.keys(compose.services)) expect(service(name).image).toBe(zones.image);
  });

  it('runs lab/lab.sh zones and lab/lab.sh role NODE, nothing of its own', () => {
    expect(service('zones').command).toEqual(['lab/lab.sh', 'zones']);
    expect(service('dns').command).toEqual(['lab/lab.sh', 'role', 'dns']);
    expect(service('alice').command).toEqual(['lab/lab.sh', 'role', 'alice']);
    // bob first adds plain's and bogus's addresses, then becomes lab.sh (exec).
    expect(commandLine(service('bob'))).toMatch(/exec lab\/lab\.sh role bob$/);
  });

  it('shares one lab volume, LAB_DIR=/lab, between every service', () => {
    for (const name of Object.keys(compose.services)) {
      const s = service(name);
      expect(s.environment?.LAB_DIR, name).toBe('/lab');
      expect(s.volumes, name).toContain('lab:/lab');
    }
    expect(Object.keys(compose.volumes)).toEqual(['lab']);
  });

  it('puts dns, alice and bob at the lab addresses on one IPv4 + IPv6 bridge', () => {
    const networkNames = Object.keys(compose.networks);
    expect(networkNames).toHaveLength(1);
    const network = compose.networks[networkNames[0]!]!;
    expect(network.enable_ipv6).toBe(true);
    const subnets = network.ipam.config.map((c) => c.subnet);
    expect(subnets).toEqual(['192.0.2.0/24', '2001:db8::/64']);
    // Docker reserves the gateway (.1 / ::1); no node may be there.
    expect(network.ipam.config.map((c) => c.gateway)).toEqual(['192.0.2.1', '2001:db8::1']);
    for (const node of NODES) {
      const attached = service(node).networks ?? {};
      expect(Object.keys(attached), node).toEqual(networkNames);
      const addresses = attached[networkNames[0]!]!;
      expect(addresses, node).toEqual({ ipv4_address: LAB[node].v4, ipv6_address: LAB[node].v6 });
      expect([addresses.ipv4_address, addresses.ipv6_address]).not.toContain('192.0.2.1');
      expect([addresses.ipv4_address, addresses.ipv6_address]).not.toContain('2001:db8::1');
    }
    expect(service('zones').network_mode).toBe('none');
  });

  it.runIf(lab4 !== undefined && lab6 !== undefined)('uses the addresses lab/lib/common.sh gives the nodes', () => {
    for (const node of NODES) {
      expect(lab4![node], node).toBe(LAB[node].v4);
      expect(lab6![node], node).toBe(LAB[node].v6);
    }
    for (const extra of ['plain', 'bogus'] as const) {
      expect(lab4![extra], extra).toBe(BOB_EXTRA[extra].v4);
      expect(lab6![extra], extra).toBe(BOB_EXTRA[extra].v6);
    }
  });

  it("gives bob plain's and bogus's addresses, outside Docker's dynamic range", () => {
    const line = commandLine(service('bob'));
    for (const extra of Object.values(BOB_EXTRA)) {
      expect(line).toContain(`${extra.v4}/24`);
      expect(line).toContain(`${extra.v6}/64`);
    }
    const ranges = Object.values(compose.networks)[0]!.ipam.config.map((c) => c.ip_range);
    expect(ranges).toEqual(['192.0.2.128/25', '2001:db8::1:0/112']);
  });

  it('grants alice and bob NET_ADMIN (and SYS_ADMIN for charon under unshare -m), and IPv6', () => {
    for (const node of ['alice', 'bob']) {
      expect(service(node).cap_add, node).toEqual(expect.arrayContaining(['NET_ADMIN', 'SYS_ADMIN']));
      expect(service(node).security_opt, node).toContain('apparmor=unconfined');
    }
    for (const node of NODES) expect(String(service(node).sysctls?.['net.ipv6.conf.all.disable_ipv6']), node).toBe('0');
    expect(service('dns').cap_add).toBeUndefined();
  });

  it('starts in order: zones completed, then dns healthy, then alice and bob', () => {
    expect(service('dns').depends_on).toEqual({ zones: { condition: 'service_completed_successfully' } });
    for (const node of ['alice', 'bob']) {
      expect(service(node).depends_on, node).toEqual({
        zones: { condition: 'service_completed_successfully' },
        dns: { condition: 'service_healthy' },
      });
    }
  });

  it('checks health with dig: named on its address, each oedns on 127.0.0.1', () => {
    expect(service('dns').healthcheck?.test.join(' ')).toMatch(/dig @192\.0\.2\.53 .*lab\.example SOA .*status: NOERROR/);
    for (const node of ['alice', 'bob']) {
      expect(service(node).healthcheck?.test.join(' '), node).toMatch(/dig @127\.0\.0\.1 .*lab\.example SOA .*status: NOERROR/);
    }
  });

  it("points alice's and bob's resolver at their own oedns", () => {
    for (const node of ['alice', 'bob']) {
      expect(service(node).dns, node).toEqual(['127.0.0.1']);
      const mount = service(node).volumes?.find((v) => v.split(':')[1] === '/etc/resolv.conf');
      expect(mount, node).toBe('./resolv.conf:/etc/resolv.conf:ro');
      const nameservers = readFileSync(resolve(DOCKER, mount!.split(':')[0]!), 'utf8').match(/^nameserver .*$/gm);
      expect(nameservers).toEqual(['nameserver 127.0.0.1']);
    }
    expect(service('dns').dns).toEqual([LAB.dns.v4]);
  });
});

describe('docker/Dockerfile', () => {
  it('installs every apt package scripts/test.sh installs (strongSwan included), and the lab tools', () => {
    const installed = dockerfilePackages();
    const wanted = testScriptPackages();
    expect(wanted).toEqual(expect.arrayContaining(['strongswan-charon', 'strongswan-swanctl', 'libcharon-extra-plugins']));
    expect([...installed]).toEqual(expect.arrayContaining(wanted));
    expect([...installed]).toEqual(expect.arrayContaining(['iproute2', 'tcpdump', 'iputils-ping', 'ncat', 'openssl']));
  });

  it('installs dependencies from package.json and the lock before copying the sources (cacheable)', () => {
    const steps = shellText(join(DOCKER, 'Dockerfile'))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => /^(FROM|RUN|COPY)\b/.test(line));
    const at = (pattern: RegExp): number => steps.findIndex((step) => pattern.test(step));
    expect(at(/^FROM node:20-bookworm/)).toBe(0);
    expect(at(/^COPY package\.json package-lock\.json /)).toBeGreaterThan(at(/apt-get install/));
    expect(at(/^RUN npm ci\b/)).toBeGreaterThan(at(/^COPY package\.json/));
    expect(at(/^COPY \. \./)).toBeGreaterThan(at(/^RUN npm ci\b/));
    expect(at(/^RUN npm run build/)).toBeGreaterThan(at(/^COPY \. \./));
  });
});

/** A compose CLI that can check the file: `docker compose` (v2) or Debian's `docker-compose` (v1). */
async function composeCli(): Promise<string[] | undefined> {
  for (const cli of [['docker', 'compose'], ['docker-compose']]) {
    const probe = await execa(cli[0]!, [...cli.slice(1), 'version'], { reject: false, timeout: 20_000 }).catch(() => undefined);
    if (probe?.exitCode === 0) return cli;
  }
  return undefined;
}
const cli = await composeCli();

describe.runIf(cli !== undefined)('docker/compose.yaml: compose config', () => {
  it(`is accepted by \`${cli?.join(' ')} config\``, async () => {
    const r = await execa(cli![0]!, [...cli!.slice(1), '-f', COMPOSE_FILE, 'config'], { reject: false, timeout: 30_000 });
    expect(r.stderr).not.toMatch(/invalid|error/i);
    expect(r.exitCode).toBe(0);
    const resolved = parse(r.stdout) as ComposeFile;
    expect(Object.keys(resolved.services).sort()).toEqual(['alice', 'bob', 'dns', 'zones']);
    expect(resolved.services.alice?.networks?.lab?.ipv4_address).toBe(LAB.alice.v4);
  });
});

import { describe, expect, it } from 'vitest';
import { AppError, ConfigError, ForwardingLoopError } from '../core/errors.js';
import { buildConfig, DEFAULT_LISTEN, mergeSettings, parseSettingsFile, type Environment, type Settings } from './config.js';

const env: Environment = { resolvConf: 'nameserver 192.0.2.1\n', localAddresses: ['127.0.0.1', '::1', '192.0.2.7'] };

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected an error');
}

function expectConfigError(fn: () => unknown, pattern: RegExp): void {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(ConfigError);
  expect(error.code).toBe('ERR_CONFIG');
  expect(error.message).toMatch(pattern);
}

describe('parseSettingsFile (YAML, keys are the long flag names)', () => {
  it('reads every kind of setting', () => {
    const text = [
      'listen: ["127.0.0.1:5300", "[::1]:5300"]',
      'upstream:',
      '  - 192.0.2.1',
      '  - "[2001:db8::1]:53"',
      'log-level: debug',
      'cache-max-entries: 1000',
      'negative-max-ttl: 900',
    ].join('\n');
    expect(parseSettingsFile(text, '/etc/oedns.yaml')).toEqual({
      listen: ['127.0.0.1:5300', '[::1]:5300'],
      upstream: ['192.0.2.1', '[2001:db8::1]:53'],
      'log-level': 'debug',
      'cache-max-entries': 1000,
      'negative-max-ttl': 900,
    });
  });

  it('turns a single string into a one-element list for listen and upstream', () => {
    expect(parseSettingsFile('upstream: 192.0.2.1\nlisten: "127.0.0.1:53"\n', 'f.yaml')).toEqual({
      upstream: ['192.0.2.1'],
      listen: ['127.0.0.1:53'],
    });
  });

  it('reads an empty file or a comment-only file as no settings', () => {
    expect(parseSettingsFile('', 'f.yaml')).toEqual({});
    expect(parseSettingsFile('# nothing yet\n', 'f.yaml')).toEqual({});
  });

  it('rejects an unknown key, naming the file, the key and the known keys', () => {
    expectConfigError(() => parseSettingsFile('upstreams: 192.0.2.1\n', '/etc/oedns.yaml'), /\/etc\/oedns\.yaml.*unknown setting "upstreams".*known: listen, upstream/);
  });

  it('rejects invalid YAML, naming the file', () => {
    expectConfigError(() => parseSettingsFile('upstream: [192.0.2.1\n', 'bad.yaml'), /bad\.yaml is not valid YAML/);
    expectConfigError(() => parseSettingsFile('a: 1\n  b: 2\n', 'bad.yaml'), /not valid YAML/);
  });

  it('rejects a file that is not a mapping', () => {
    expectConfigError(() => parseSettingsFile('- 192.0.2.1\n', 'list.yaml'), /list\.yaml must be a mapping/);
    expectConfigError(() => parseSettingsFile('just text\n', 'text.yaml'), /must be a mapping/);
  });

  it('rejects values of the wrong type', () => {
    expectConfigError(() => parseSettingsFile('upstream: 53\n', 'f.yaml'), /"upstream" must be a string or a list of strings/);
    expectConfigError(() => parseSettingsFile('listen: ["127.0.0.1", 5353]\n', 'f.yaml'), /"listen" must be a string or a list/);
    expectConfigError(() => parseSettingsFile('log-level: 3\n', 'f.yaml'), /"log-level" must be a string/);
    expectConfigError(() => parseSettingsFile('cache-max-entries: "1000"\n', 'f.yaml'), /"cache-max-entries" must be a number/);
    expectConfigError(() => parseSettingsFile('tcp-max-connections: [1]\n', 'f.yaml'), /"tcp-max-connections" must be a number/);
  });
});

describe('mergeSettings', () => {
  it('lets later layers (flags) win key by key', () => {
    const file: Settings = { upstream: ['192.0.2.1'], 'log-level': 'warn', 'cache-max-entries': 10 };
    const flags: Settings = { upstream: ['192.0.2.2'], 'cache-max-ttl': 600 };
    expect(mergeSettings(file, flags)).toEqual({
      upstream: ['192.0.2.2'], 'log-level': 'warn', 'cache-max-entries': 10, 'cache-max-ttl': 600,
    });
  });

  it('does not let an unset flag erase a file setting', () => {
    expect(mergeSettings({ 'log-level': 'debug' }, { 'log-level': undefined })).toEqual({ 'log-level': 'debug' });
  });
});

describe('buildConfig', () => {
  it('fills in the defaults', () => {
    const config = buildConfig({}, env);
    expect(config.listen).toEqual([
      { address: '127.0.0.1', port: 53, family: 4 },
      { address: '::1', port: 53, family: 6 },
    ]);
    expect(DEFAULT_LISTEN).toHaveLength(2);
    expect(config.listenIsDefault).toBe(true);
    expect(config.logLevel).toBe('info');
    expect(config.upstream).toEqual({
      servers: [{ address: '192.0.2.1', port: 53, family: 4 }], source: 'resolv.conf',
      attemptTimeoutMs: 1500, queryTimeoutMs: 5000, deadSeconds: 30,
    });
    expect(config.cache).toEqual({
      maxEntries: 250_000, maxBytes: 128 * 1024 * 1024, maxTtlSeconds: 86_400, minTtlSeconds: 0, negativeMaxTtlSeconds: 3600,
    });
    expect(config.tcpIdleTimeoutMs).toBe(10_000);
    expect(config.tcpMaxConnections).toBe(512);
  });

  it('uses configured upstreams and listen addresses', () => {
    const config = buildConfig({ listen: ['0.0.0.0:5300'], upstream: ['192.0.2.53', '[2001:db8::53]:5353'], 'cache-max-mb': 2 }, env);
    expect(config.listenIsDefault).toBe(false);
    expect(config.listen).toEqual([{ address: '0.0.0.0', port: 5300, family: 4 }]);
    expect(config.upstream.source).toBe('configured');
    expect(config.upstream.servers).toEqual([
      { address: '192.0.2.53', port: 53, family: 4 },
      { address: '2001:db8::53', port: 5353, family: 6 },
    ]);
    expect(config.cache.maxBytes).toBe(2 * 1024 * 1024);
  });

  it('treats an empty listen list as the default', () => {
    expect(buildConfig({ listen: [] }, env).listenIsDefault).toBe(true);
  });

  describe('upstreams from resolv.conf', () => {
    it('drops nameservers that are oedns itself and keeps the rest', () => {
      const config = buildConfig({}, { ...env, resolvConf: 'nameserver 127.0.0.1\nnameserver ::1\nnameserver 192.0.2.1\n' });
      expect(config.upstream.servers).toEqual([{ address: '192.0.2.1', port: 53, family: 4 }]);
      expect(config.upstream.source).toBe('resolv.conf');
    });

    it('keeps a local stub on another address (127.0.0.53)', () => {
      const config = buildConfig({}, { ...env, resolvConf: 'nameserver 127.0.0.53\n' });
      expect(config.upstream.servers).toEqual([{ address: '127.0.0.53', port: 53, family: 4 }]);
    });

    it('drops the host\'s own addresses when listening on a wildcard', () => {
      const config = buildConfig({ listen: ['0.0.0.0:53'] }, { ...env, resolvConf: 'nameserver 192.0.2.7\nnameserver 192.0.2.1\n' });
      expect(config.upstream.servers.map((s) => s.address)).toEqual(['192.0.2.1']);
    });

    it('fails naming --upstream when resolv.conf lists only oedns (a forwarding loop)', () => {
      expectConfigError(() => buildConfig({}, { ...env, resolvConf: 'nameserver 127.0.0.1\n' }), /127\.0\.0\.1.*oedns itself.*--upstream/);
    });

    it('fails naming --upstream when resolv.conf lists no nameserver', () => {
      expectConfigError(() => buildConfig({}, { ...env, resolvConf: 'search example.com\n' }), /lists no nameserver.*--upstream/);
    });

    it('fails naming --upstream when resolv.conf cannot be read', () => {
      expectConfigError(() => buildConfig({}, { ...env, resolvConf: undefined }), /cannot be read.*--upstream/);
    });

    it('does not read resolv.conf when upstreams are configured', () => {
      const config = buildConfig({ upstream: ['192.0.2.9'] }, { ...env, resolvConf: undefined });
      expect(config.upstream.servers.map((s) => s.address)).toEqual(['192.0.2.9']);
    });
  });

  it('refuses an explicit upstream that is its own listen address (ForwardingLoopError)', () => {
    const error = thrown(() => buildConfig({ upstream: ['127.0.0.1'] }, env));
    expect(error).toBeInstanceOf(ForwardingLoopError);
    expect(error.code).toBe('ERR_FORWARDING_LOOP');
    expect(() => buildConfig({ listen: ['127.0.0.1:5300'], upstream: ['127.0.0.1'] }, env)).not.toThrow();
  });

  describe('validation', () => {
    it('rejects an unknown log level', () => {
      expectConfigError(() => buildConfig({ 'log-level': 'verbose' }, env), /log-level "verbose" is not one of fatal, error/);
    });

    it('rejects a listen address that is not an IP address', () => {
      expectConfigError(() => buildConfig({ listen: ['localhost:53'] }, env), /listen address "localhost:53"/);
    });

    it('rejects an upstream that is not an IP address', () => {
      expectConfigError(() => buildConfig({ upstream: ['dns.example'] }, env), /upstream "dns.example"/);
    });

    it('rejects zero, negative and fractional counts and timeouts', () => {
      expectConfigError(() => buildConfig({ 'cache-max-entries': 0 }, env), /cache-max-entries must be an integer >= 1, got 0/);
      expectConfigError(() => buildConfig({ 'tcp-max-connections': 1.5 }, env), /tcp-max-connections/);
      expectConfigError(() => buildConfig({ 'upstream-timeout-ms': -1 }, env), /upstream-timeout-ms/);
      expectConfigError(() => buildConfig({ 'cache-max-ttl': -1 }, env), /cache-max-ttl must be an integer >= 0/);
      expectConfigError(() => buildConfig({ 'upstream-dead-seconds': Number.NaN }, env), /upstream-dead-seconds/);
    });

    it('allows 0 where 0 means "never" (cache-min-ttl, negative-max-ttl)', () => {
      const config = buildConfig({ 'cache-min-ttl': 0, 'negative-max-ttl': 0 }, env);
      expect(config.cache.minTtlSeconds).toBe(0);
      expect(config.cache.negativeMaxTtlSeconds).toBe(0);
    });

    it('rejects a query timeout shorter than one attempt', () => {
      expectConfigError(() => buildConfig({ 'upstream-timeout-ms': 2000, 'query-timeout-ms': 1000 }, env), /query-timeout-ms \(1000\) must be at least upstream-timeout-ms \(2000\)/);
    });

    it('rejects cache-min-ttl above cache-max-ttl', () => {
      expectConfigError(() => buildConfig({ 'cache-min-ttl': 600, 'cache-max-ttl': 60 }, env), /cache-min-ttl \(600\) exceeds cache-max-ttl \(60\)/);
    });
  });
});

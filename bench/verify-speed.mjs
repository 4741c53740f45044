// Signature verifications per second for each DNSSEC algorithm, with the validator's own
// verifySignature (node:crypto, asynchronous, as the validator calls it). Run after a build:
//   node bench/verify-speed.mjs [seconds-per-algorithm]
// Prints one line per algorithm; no network, no servers.
import { generateKeyPairSync, sign as signSync } from 'node:crypto';
import { DnssecAlgorithm, dnskeyToKeyObject, verifySignature } from '../dist/dnssec/index.js';

const seconds = Number(process.argv[2] ?? 2);
const data = Buffer.alloc(200, 7);

/** Key pair, DNSKEY public key bytes (RFC 3110 / 6605 / 8080 forms) and a signature over `data`. */
function material(name) {
  const rsa = (bits, hash) => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 });
    const jwk = publicKey.export({ format: 'jwk' });
    const e = Buffer.from(jwk.e, 'base64url');
    const n = Buffer.from(jwk.n, 'base64url');
    return { key: Buffer.concat([Buffer.of(e.length), e, n]), signature: signSync(hash, data, privateKey) };
  };
  const ec = (curve, hash) => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
    const jwk = publicKey.export({ format: 'jwk' });
    return { key: Buffer.concat([Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]), signature: signSync(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' }) };
  };
  const ed = (type) => {
    const { publicKey, privateKey } = generateKeyPairSync(type);
    return { key: Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url'), signature: signSync(null, data, privateKey) };
  };
  switch (name) {
    case 'RSASHA1': return rsa(2048, 'sha1');
    case 'RSASHA256': return rsa(2048, 'sha256');
    case 'RSASHA512': return rsa(2048, 'sha512');
    case 'ECDSAP256SHA256': return ec('prime256v1', 'sha256');
    case 'ECDSAP384SHA384': return ec('secp384r1', 'sha384');
    case 'ED25519': return ed('ed25519');
    case 'ED448': return ed('ed448');
    default: throw new Error(name);
  }
}

for (const name of ['RSASHA1', 'RSASHA256', 'RSASHA512', 'ECDSAP256SHA256', 'ECDSAP384SHA384', 'ED25519', 'ED448']) {
  const algorithm = DnssecAlgorithm[name];
  const { key, signature } = material(name);
  const keyObject = dnskeyToKeyObject(algorithm, key);
  if (!(await verifySignature(algorithm, keyObject, data, signature))) throw new Error(`${name}: the test signature does not verify`);
  let count = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    await Promise.all(Array.from({ length: 32 }, () => verifySignature(algorithm, keyObject, data, signature)));
    count += 32;
  }
  console.log(`${name.padEnd(16)} ${Math.round(count / seconds).toString().padStart(8)} verifications/s`);
}

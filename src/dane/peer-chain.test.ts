import type { DetailedPeerCertificate } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { issue, type Issued } from '../../test/support/pki.js';
import { chainFromPeerCertificate } from './peer-chain.js';

let root: Issued;
let inter: Issued;
let leaf: Issued;

beforeAll(() => {
  root = issue({ subject: 'Chain Root CA', ca: true });
  inter = issue({ subject: 'Chain Intermediate CA', ca: true, issuer: root });
  leaf = issue({ subject: 'www.example.test', dns: ['www.example.test'], issuer: inter });
});

/** The part of Node's DetailedPeerCertificate the walk reads: raw DER and the issuer link. */
interface Link {
  raw: Buffer;
  issuerCertificate?: Link;
}

function linked(...certs: Issued[]): Link[] {
  const links: Link[] = certs.map((c) => ({ raw: Buffer.from(c.der) }));
  links.forEach((link, i) => { link.issuerCertificate = links[i + 1]; });
  return links;
}

const asPeer = (link: Link | object): DetailedPeerCertificate => link as DetailedPeerCertificate;
const subjects = (link: Link | object): string[] => chainFromPeerCertificate(asPeer(link)).map((c) => c.subject);

describe('chainFromPeerCertificate', () => {
  it('walks from the leaf to the root and stops at the root\'s self-loop', () => {
    const [first, , top] = linked(leaf, inter, root);
    top!.issuerCertificate = top;
    expect(subjects(first!)).toEqual(['CN=www.example.test', 'CN=Chain Intermediate CA', 'CN=Chain Root CA']);
  });

  it('stops at a chain that ends without a root (the store did not complete it)', () => {
    expect(subjects(linked(leaf, inter)[0]!)).toEqual(['CN=www.example.test', 'CN=Chain Intermediate CA']);
  });

  it('keeps no duplicates and ends a loop through an earlier certificate', () => {
    const [first, second] = linked(leaf, inter);
    second!.issuerCertificate = { raw: Buffer.from(leaf.der), issuerCertificate: first };
    expect(subjects(first!)).toEqual(['CN=www.example.test', 'CN=Chain Intermediate CA']);
  });

  it('gives an empty chain when the peer sent no certificate (getPeerCertificate returns {})', () => {
    expect(subjects({})).toEqual([]);
  });
});

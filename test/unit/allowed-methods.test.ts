import { expect } from 'chai';
import { allowList, createMethodTable } from '../../src/http/allowed-methods.js';

describe('method table (allowed-methods.ts)', () => {
  const table = createMethodTable([
    { method: 'get', path: '/v1/things' },
    { method: 'post', path: '/v1/things' },
    { method: 'get', path: '/v1/things/:id', params: { id: { schema: { type: 'string', pattern: '^[0-9]+$' } } } },
    { method: 'delete', path: '/v1/things/:id', params: { id: { schema: { type: 'string', pattern: '^[0-9]+$' } } } },
    { method: 'put', path: '/v1/things/:id/hold' },
    { method: 'get', path: '/:page', params: { page: { schema: { type: 'string', enum: ['login', 'a b'] } } } },
    { method: 'get', path: '/healthz' },
  ]);

  it('when GET is documented, then HEAD is allowed too, and OPTIONS always, in a fixed order', () => {
    expect(allowList(['delete', 'get', 'post'])).to.deep.equal(['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS']);
    expect(allowList(['put'])).to.deep.equal(['PUT', 'OPTIONS']);
  });

  it('when a path matches a documented path, then its methods are listed; paths that match none are undefined', () => {
    expect(table('/v1/things')).to.deep.equal(['GET', 'HEAD', 'POST', 'OPTIONS']);
    expect(table('/v1/things/42')).to.deep.equal(['GET', 'HEAD', 'DELETE', 'OPTIONS']);
    expect(table('/v1/things/42/hold')).to.deep.equal(['PUT', 'OPTIONS']);
    expect(table('/v1/things/42/other')).to.equal(undefined);
    expect(table('/v1')).to.equal(undefined);
    expect(table('/')).to.equal(undefined);
  });

  it('when a segment violates its parameter schema (pattern, enum, empty), then the path is not that documented path', () => {
    expect(table('/v1/things/abc')).to.equal(undefined);
    expect(table('/v1/things//hold')).to.equal(undefined);
    expect(table('/nosuchpage')).to.equal(undefined);
    expect(table('/login')).to.deep.equal(['GET', 'HEAD', 'OPTIONS']);
  });

  it('when a segment is percent-encoded, then its decoded value is checked; a malformed encoding matches nothing', () => {
    expect(table('/a%20b')).to.deep.equal(['GET', 'HEAD', 'OPTIONS']);
    expect(table('/v1/things/%34%32')).to.deep.equal(['GET', 'HEAD', 'DELETE', 'OPTIONS']);
    expect(table('/v1/things/%E0%A4%A')).to.equal(undefined);
  });

  it('when literal segments differ in case or the path ends in one slash, then it matches as Express routes it', () => {
    expect(table('/V1/Things/')).to.deep.equal(['GET', 'HEAD', 'POST', 'OPTIONS']);
    expect(table('/HEALTHZ')).to.deep.equal(['GET', 'HEAD', 'OPTIONS']);
    expect(table('/v1/things//')).to.equal(undefined);
  });
});

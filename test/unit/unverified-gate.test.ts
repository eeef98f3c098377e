import { expect } from 'chai';
import { addressKey, createUnverifiedGate } from '../../src/ingest/unverified.js';
import type { UnverifiedEntry, UnverifiedPass } from '../../src/ingest/unverified.js';

function passOf(entry: UnverifiedEntry): UnverifiedPass {
  if (!('pass' in entry)) throw new Error(`refused by the ${entry.refused} bound`);
  return entry.pass;
}

describe('ingest unverified gate', () => {
  it('when a source has its bound in flight, then the next body of that source is refused from any address, other sources are not', () => {
    const gate = createUnverifiedGate({ perSource: 2, perAddress: 10 });
    passOf(gate.enter({ source: 'pbx-1', address: '10.0.0.1' }));
    passOf(gate.enter({ source: 'pbx-1', address: '10.0.0.2' }));
    expect(gate.enter({ source: 'pbx-1', address: '10.0.0.3' })).to.deep.equal({ refused: 'source' });
    passOf(gate.enter({ source: 'pbx-2', address: '10.0.0.3' }));
    expect(gate.inFlight).to.equal(3);
  });

  it('when an address has its bound in flight, then its next body is refused whatever source it claims, other addresses are not', () => {
    const gate = createUnverifiedGate({ perSource: 10, perAddress: 2 });
    passOf(gate.enter({ source: 'pbx-1', address: '10.0.0.1' }));
    passOf(gate.enter({ source: 'pbx-2', address: '10.0.0.1' }));
    expect(gate.enter({ source: 'pbx-3', address: '10.0.0.1' })).to.deep.equal({ refused: 'address' });
    passOf(gate.enter({ source: 'pbx-1', address: '10.0.0.2' }));
  });

  it('when a pass is released (twice), then its place is free once and the count returns to zero', () => {
    const gate = createUnverifiedGate({ perSource: 1, perAddress: 1 });
    const pass = passOf(gate.enter({ source: 'pbx-1', address: '10.0.0.1' }));
    pass.release();
    pass.release();
    expect(gate.inFlight).to.equal(0);
    const again = passOf(gate.enter({ source: 'pbx-1', address: '10.0.0.1' }));
    expect(gate.enter({ source: 'pbx-1', address: '10.0.0.1' })).to.have.property('refused');
    again.release();
    expect(gate.inFlight).to.equal(0);
  });

  it('when addresses are keyed, then IPv4 stays as it is (also IPv4-mapped) and IPv6 counts by its /64', () => {
    expect(addressKey('127.0.0.2')).to.equal('127.0.0.2');
    expect(addressKey('::ffff:127.0.0.2')).to.equal('127.0.0.2');
    expect(addressKey('2001:db8:1:2:aaaa::1')).to.equal('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee')).to.equal('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).to.equal('2001:db8:0:0::/64');
    expect(addressKey('::1')).to.equal('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).to.equal('fe80:0:0:0::/64');
    expect(addressKey(undefined)).to.equal('unknown');
  });
});

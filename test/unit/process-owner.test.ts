/**
 * Process owners and per-process temp folders: which work belongs to a live process, and what a
 * killed one left behind (src/process-owner.ts, src/owned-dirs.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { OWNER_FILE, UNOWNED_GRACE_MS, claimOwnedDir, removeStaleOwnedDirs } from '../../src/owned-dirs.js';
import { OWNER_LEASE_MS, currentOwner, formatOwner, isOwnerAlive, parseOwner } from '../../src/process-owner.js';
import type { ProcessOwner } from '../../src/process-owner.js';
import { tempDir } from '../support/backends.js';
import { age, deadOwner, liveProcess, tempLeftovers, writeOwnedDir } from '../support/owners.js';
import type { LiveProcess } from '../support/owners.js';

const NOW = Date.now();
const lease = (at = NOW) => at + OWNER_LEASE_MS;
const buildOwner = (overrides: Partial<ProcessOwner> = {}): ProcessOwner => ({ ...currentOwner(), ...overrides });

describe('process owners', () => {
  let other: LiveProcess;
  before(async () => {
    other = await liveProcess();
  });
  after(async () => {
    await other.kill();
  });

  it('when the owner is this process or another live one of this machine, then it is alive until its lease runs out', () => {
    for (const owner of [currentOwner(), other.owner]) {
      expect(isOwnerAlive(owner, { leaseExpiresAt: lease(), now: NOW })).to.equal(true);
      expect(isOwnerAlive(owner, { leaseExpiresAt: NOW, now: NOW })).to.equal(false);
    }
  });

  it('when a process of this machine was killed, then its owner is dead at once, though its lease still holds', async () => {
    const dead = await deadOwner();
    expect(isOwnerAlive(dead, { leaseExpiresAt: lease(), now: NOW })).to.equal(false);
  });

  it('when the pid now belongs to a process started at another time, then the old owner is dead', () => {
    const reused = { ...other.owner, start: `${Number(other.owner.start) - 1}` };
    expect(isOwnerAlive(reused, { leaseExpiresAt: lease(), now: NOW })).to.equal(false);
  });

  it('when the owner is on another machine (host, container), then only its lease decides, whatever runs under its pid here', () => {
    const foreign = buildOwner({ machine: 'other-boot.4026531836', pid: 999_999_999 });
    expect(isOwnerAlive(foreign, { leaseExpiresAt: lease(), now: NOW })).to.equal(true);
    expect(isOwnerAlive(foreign, { leaseExpiresAt: NOW - 1, now: NOW })).to.equal(false);
  });

  it('when an owner is formatted with a role and parsed back, then the role is dropped and the rest survives; garbage parses to undefined', () => {
    const owner = buildOwner();
    expect(parseOwner(formatOwner(owner, 'ingest-ab12'))).to.deep.equal(owner);
    expect(parseOwner(formatOwner(owner))).to.deep.equal(owner);
    for (const bad of ['', 'x', 'a/b/c', 'a/1/2/ro le', 42, undefined])
      expect(parseOwner(bad), String(bad)).to.equal(undefined);
    expect(() => formatOwner(owner, 'a/b')).to.throw();
  });
});

describe('per-process temp folders', () => {
  let root: string;
  let other: LiveProcess;
  beforeEach(async () => {
    root = path.join(tempDir(), 'tmp');
    other = await liveProcess();
  });
  afterEach(async () => {
    await other.kill();
    fs.rmSync(path.dirname(root), { recursive: true, force: true });
  });

  it('when a process claims its folder, then it holds an owner file naming this process, survives a sweep, and release removes it', async () => {
    const owned = await claimOwnedDir(root);
    fs.writeFileSync(path.join(owned.path, 'work.part'), 'x');
    const owner = JSON.parse(fs.readFileSync(path.join(owned.path, OWNER_FILE), 'utf8')) as { owner: string };
    expect(parseOwner(owner.owner)).to.deep.equal(currentOwner());
    expect(await removeStaleOwnedDirs(root, { now: Date.now() })).to.deep.equal({ removed: [], live: 1 });
    expect(tempLeftovers(root)).to.deep.equal([`${path.basename(owned.path)}/work.part`]);
    await owned.release();
    expect(fs.readdirSync(root)).to.deep.equal([]);
  });

  it("when the heartbeat ticks, then the owner file's mtime follows the clock, a folder a peer removed comes back, and a removed root stays removed", async () => {
    let clock = Date.UTC(2026, 10, 30, 12);
    let reads = 0;
    const owned = await claimOwnedDir(root, {
      now: () => {
        reads += 1;
        return clock;
      },
      heartbeatMs: 10,
    });
    const mtime = () => fs.statSync(path.join(owned.path, OWNER_FILE)).mtimeMs;
    const until = async (check: () => boolean, what: string) => {
      for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(check(), what).to.equal(true);
    };
    expect(mtime()).to.equal(clock);
    clock += 60_000;
    await until(() => mtime() === clock, 'the heartbeat');
    fs.rmSync(owned.path, { recursive: true });
    await until(() => fs.existsSync(path.join(owned.path, OWNER_FILE)), 'the folder back');
    fs.rmSync(root, { recursive: true });
    // Counted heartbeats, not a sleep: each tick reads the clock once or twice, so six more reads
    // mean at least two ticks started and finished after the removal.
    const readsAtRemoval = reads;
    await until(() => reads >= readsAtRemoval + 6, 'two more heartbeats');
    expect(fs.existsSync(root)).to.equal(false);
    await owned.release();
  });

  it('when a peer removed a folder whose lease lapsed, then ensure re-creates it with its owner file', async () => {
    const owned = await claimOwnedDir(root);
    fs.rmSync(owned.path, { recursive: true });
    await owned.ensure();
    expect(fs.existsSync(path.join(owned.path, OWNER_FILE))).to.equal(true);
    await owned.release();
  });

  it('when folders of a killed process, a live process, and another machine lie in the root, then only the dead ones and old unowned entries are removed', async () => {
    const now = Date.now();
    const dead = writeOwnedDir(root, await deadOwner(), {
      files: { 'ingest-1/original': 'audio-bytes', 'ingest-1/playback': 'pb' },
    });
    const live = writeOwnedDir(root, other.owner, { files: { 'ingest-2/original': 'audio' } });
    const foreign = { ...currentOwner(), machine: 'another-host' };
    const foreignFresh = writeOwnedDir(root, foreign, { heartbeatAt: now - 1000, files: { 'x.part': 'a' } });
    const foreignLapsed = writeOwnedDir(
      root,
      { ...foreign, pid: foreign.pid + 1 },
      { heartbeatAt: now - OWNER_LEASE_MS - 1, files: { 'y.part': 'b' } },
    );
    // The flat layout of older versions, and a folder killed before its owner file was written.
    fs.mkdirSync(path.join(root, 'ingest-legacy'));
    fs.writeFileSync(path.join(root, 'ingest-legacy', 'original'), 'old');
    age(path.join(root, 'ingest-legacy'), now - UNOWNED_GRACE_MS - 1);
    fs.writeFileSync(path.join(root, 'fresh.part'), 'new');

    const dry = await removeStaleOwnedDirs(root, { now, dryRun: true });
    expect(dry.removed.map((r) => r.name).sort()).to.deep.equal(
      [path.basename(dead), path.basename(foreignLapsed), 'ingest-legacy'].sort(),
    );
    expect(fs.existsSync(dead)).to.equal(true);

    const result = await removeStaleOwnedDirs(root, { now });
    const removedDead = result.removed.find((r) => r.name === path.basename(dead));
    // The bytes held: the audio files and the owner file.
    expect(removedDead?.bytes).to.be.above('audio-bytes'.length + 'pb'.length);
    expect(result.live).to.equal(2);
    expect(fs.readdirSync(root).sort()).to.deep.equal(
      [path.basename(live), path.basename(foreignFresh), 'fresh.part'].sort(),
    );
  });
});

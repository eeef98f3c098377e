import { expect } from 'chai';
import { AppError, errors } from '../../src/errors.js';
import {
  InvalidKeyError,
  InvalidRangeError,
  ObjectNotFoundError,
  StoreUnavailableError,
} from '../../src/storage/object-store.js';
import { VersionedBucketError } from '../../src/storage/s3-store.js';
import { storeErrorToAppError } from '../../src/http/store-errors.js';
import { storeErrorCode } from '../../src/storage/store-errors.js';

describe('storeErrorToAppError', function () {
  it('when the object is missing, then it is 404 not_found naming the resource, and the key stays in the cause only', function () {
    const cause = new ObjectNotFoundError('recordings/2026/01/01/X/original.wav');
    const error = storeErrorToAppError(cause, { what: 'Recording audio' });
    expect(error).to.include({ code: 'not_found', status: 404, title: 'Recording audio not found' });
    expect(error.message).to.not.contain('recordings/');
    expect(error.cause).to.equal(cause);
  });

  it('when a range is unsatisfiable, then it is 416 with Content-Range bytes */size', function () {
    const error = storeErrorToAppError(new InvalidRangeError(1234));
    expect(error).to.include({ code: 'range_not_satisfiable', status: 416 });
    expect(error.headers['Content-Range']).to.equal('bytes */1234');
  });

  it('when the store is unavailable, then it is 503 store_unavailable with Retry-After and no storage message', function () {
    const error = storeErrorToAppError(new StoreUnavailableError('s3 store: put failed (ECONNREFUSED)'));
    expect(error).to.include({ code: 'store_unavailable', status: 503 });
    expect(error.headers['Retry-After']).to.equal('5');
    expect(error.message).to.not.contain('ECONNREFUSED');
  });

  it('when a versioned bucket refuses a delete, then its code is versioned_bucket and it is 503 store_unavailable like an unavailable store', function () {
    const cause = new VersionedBucketError('b', 'Enabled');
    expect(cause).to.be.instanceOf(StoreUnavailableError);
    expect(storeErrorCode(cause)).to.equal('versioned_bucket');
    expect(storeErrorToAppError(cause)).to.include({ code: 'store_unavailable', status: 503 });
    const foreign = Object.assign(new Error('versioned'), { name: 'VersionedBucketError', code: 'versioned_bucket' });
    expect(storeErrorCode(foreign)).to.equal('versioned_bucket');
  });

  it('when the key is invalid or the error is unknown, then it is 500 internal; an AppError passes through', function () {
    expect(storeErrorToAppError(new InvalidKeyError('empty'))).to.include({ code: 'internal', status: 500 });
    expect(storeErrorToAppError(new Error('boom'))).to.include({ code: 'internal', status: 500 });
    const own = errors.forbidden();
    expect(storeErrorToAppError(own)).to.equal(own);
    expect(storeErrorToAppError(own)).to.be.instanceOf(AppError);
  });

  it('when a store error comes from a second copy of the module, then its code is still recognised', function () {
    // What a class from another module instance looks like: same name and code, other prototype.
    const foreign = Object.assign(new Error('object not found: k'), {
      name: 'ObjectNotFoundError',
      code: 'object_not_found',
      key: 'k',
    });
    expect(storeErrorCode(foreign)).to.equal('object_not_found');
    expect(storeErrorToAppError(foreign).status).to.equal(404);
    const lookalike = Object.assign(new Error('x'), { name: 'ObjectNotFoundError', code: 'ENOENT' });
    expect(storeErrorCode(lookalike)).to.equal(undefined);
  });
});

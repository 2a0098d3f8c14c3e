/**
 * Proves FakeS3 speaks S3 as the REAL @aws-sdk/client-s3 and @aws-sdk/lib-storage expect it.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { applyEnvironment, awsTestEnvironment } from './aws-env';
import { FakeS3 } from './fake-s3';

/** Awaits a promise that must reject, and returns what it rejected with. */
async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** The SDK's CopySource: "bucket/key", URL-encoded (the SDK does not encode it for you). */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function md5Etag(body: Buffer): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

/** Deterministic, incompressible-looking bytes. */
function bytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const BUCKET = 'model-output';
/** Only S3 is exercised here; the other services' endpoints point at a port nothing listens on. */
const UNUSED = 'http://127.0.0.1:9';

describe('FakeS3 with the real S3 client', () => {
  let fake: FakeS3;
  let restoreEnv: () => void;
  let s3: S3Client;
  let noRetry: S3Client;

  beforeAll(async () => {
    fake = await FakeS3.start();
    // No endpoint in code: the clients must find FakeS3 through AWS_ENDPOINT_URL_S3, and address the
    // bucket path-style on their own (virtual-hosted style would resolve model-output.127.0.0.1 and fail).
    restoreEnv = applyEnvironment(awsTestEnvironment(UNUSED, UNUSED, fake.url));
    s3 = new S3Client({});
    noRetry = new S3Client({ maxAttempts: 1 });
  });

  afterAll(async () => {
    s3?.destroy();
    noRetry?.destroy();
    await fake?.close();
    restoreEnv?.();
  });

  beforeEach(() => {
    fake.reset();
    fake.createBucket(BUCKET);
  });

  test('url is a loopback endpoint', () => {
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  describe('PutObject / GetObject', () => {
    test('round trip through the SDK; the helpers see the same bytes and ETag', async () => {
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'out/1.json',
          Body: '{"a":1}',
          ContentType: 'application/json',
          Metadata: { Source: 'batch-7' },
        }),
      );
      expect(put.ETag).toBe(md5Etag(Buffer.from('{"a":1}')));
      expect(fake.getObject(BUCKET, 'out/1.json')?.toString('utf8')).toBe('{"a":1}');
      expect(fake.describeObject(BUCKET, 'out/1.json')).toMatchObject({
        etag: put.ETag,
        contentType: 'application/json',
        metadata: { source: 'batch-7' },
      });

      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'out/1.json' }));
      expect(await got.Body!.transformToString()).toBe('{"a":1}');
      expect(got.ETag).toBe(put.ETag);
      expect(got.ContentLength).toBe(7);
      expect(got.ContentType).toBe('application/json');
      expect(got.Metadata).toEqual({ source: 'batch-7' });
      expect(got.LastModified).toBeInstanceOf(Date);
      expect(Math.abs(got.LastModified!.getTime() - Date.now())).toBeLessThan(5000);
      // The SDK asked for the checksum (x-amz-checksum-mode: ENABLED) and verified the body against it.
      expect(got.ChecksumCRC32).toBeDefined();
      expect(fake.operations).toEqual(['PutObject', 'GetObject']);
    });

    test('putObject helper returns the quoted MD5 ETag the SDK then reads', async () => {
      const etag = fake.putObject(BUCKET, 'seeded.txt', 'hello');
      expect(etag).toBe('"5d41402abc4b2a76b9719d911017c592"');
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'seeded.txt' }));
      expect(got.ETag).toBe(etag);
      expect(got.ContentType).toBe('binary/octet-stream');
      expect(await got.Body!.transformToString()).toBe('hello');
    });

    test.each([
      ['spaces, slashes and unicode', 'reports/2024 Q1/naïve café ☕/日本語 ü.csv'],
      ['URL-special characters', 'a+b=c&d?e#f%20g;h:i@j,k$l!m*n(o)p[q]~r\'s"t<u>v.txt'],
      ['astral plane and combining marks', 'emoji/😀/e\u0301/\u{10FFFF}'],
      ['dot segments, double and edge slashes', '/lead//double/./dot/../dotdot/trail/'],
      ['surrounding spaces', '  padded key  '],
      ['a carriage return and a tab', 'line\r\nbreak\tand tab'],
    ])('a key with %s round-trips exactly (get, head, list, delete)', async (_name, key) => {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
      expect(fake.listKeys(BUCKET)).toEqual([key]);

      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(await got.Body!.transformToString()).toBe(key);
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(head.ContentLength).toBe(Buffer.byteLength(key));
      const list = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
      expect(list.Contents?.map((c) => c.Key)).toEqual([key]);

      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(fake.getObject(BUCKET, key)).toBeUndefined();
    });

    test('a 2 MiB body (sent with Expect: 100-continue) arrives and returns intact', async () => {
      const body = bytes(2 * 1024 * 1024 + 17);
      const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big.bin', Body: body }));
      expect(put.ETag).toBe(md5Etag(body));
      expect(fake.getObject(BUCKET, 'big.bin')?.equals(body)).toBe(true);

      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }));
      expect(got.ContentLength).toBe(body.length);
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    });

    test('BOM and CRLF content round-trips byte-exact, both ways', async () => {
      const text = '\uFEFFid,name\r\n1,Zoë\r\n2,"multi\r\nline"\r\n3,lone\rCR\n';
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bom.csv', Body: text, ContentType: 'text/csv' }));
      const stored = fake.getObject(BUCKET, 'bom.csv')!;
      expect(stored.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
      expect(stored.equals(Buffer.from(text, 'utf8'))).toBe(true);

      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'bom.csv' }));
      expect(await got.Body!.transformToString()).toBe(text); // the BOM is kept, not swallowed

      const raw = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a\r\nb\r\n'), Buffer.from([0xff, 0x00])]);
      fake.putObject(BUCKET, 'raw.bin', raw);
      const rawGot = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'raw.bin' }));
      expect(Buffer.from(await rawGot.Body!.transformToByteArray()).equals(raw)).toBe(true);
    });

    test('a stream body is sent aws-chunked with a trailing checksum, and stored decoded', async () => {
      const body = bytes(300_000, 7);
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'streamed.bin',
          Body: Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]),
          ContentLength: body.length,
        }),
      );
      expect(put.ETag).toBe(md5Etag(body));
      expect(fake.getObject(BUCKET, 'streamed.bin')?.equals(body)).toBe(true);
      expect(fake.describeObject(BUCKET, 'streamed.bin')?.contentEncoding).toBeUndefined();
    });

    test('a checksum that does not match the body is refused with BadDigest', async () => {
      const err = await rejection(
        s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bad.txt', Body: 'hello', ChecksumCRC32: 'AAAAAA==' })),
      );
      expect(err.name).toBe('BadDigest');
      expect(err.$metadata.httpStatusCode).toBe(400);
      expect(fake.getObject(BUCKET, 'bad.txt')).toBeUndefined();
    });

    test('Range requests answer 206 with the slice', async () => {
      fake.putObject(BUCKET, 'digits.txt', '0123456789');
      const mid = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'digits.txt', Range: 'bytes=2-5' }));
      expect(mid.$metadata.httpStatusCode).toBe(206);
      expect(mid.ContentRange).toBe('bytes 2-5/10');
      expect(await mid.Body!.transformToString()).toBe('2345');
      const tail = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'digits.txt', Range: 'bytes=-3' }));
      expect(await tail.Body!.transformToString()).toBe('789');
      const err = await rejection(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'digits.txt', Range: 'bytes=10-' })));
      expect(err.name).toBe('InvalidRange');
    });

    test('a missing key is NoSuchKey (404, XML error body)', async () => {
      const err = await rejection(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'nope/none.json' })));
      expect(err).toBeInstanceOf(NoSuchKey);
      expect(err.name).toBe('NoSuchKey');
      expect(err.message).toBe('The specified key does not exist.');
      expect(err.$metadata.httpStatusCode).toBe(404);
      expect(err.$metadata.requestId).toMatch(/^[0-9A-F]{16}$/);
    });

    test('a missing bucket is NoSuchBucket for reads, writes and listings', async () => {
      for (const command of [
        new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' }),
        new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'k', Body: 'x' }),
        new ListObjectsV2Command({ Bucket: 'no-such-bucket' }),
      ]) {
        const err = await rejection(s3.send(command as any));
        expect(err).toBeInstanceOf(NoSuchBucket);
        expect(err.$metadata.httpStatusCode).toBe(404);
      }
    });
  });

  describe('HeadObject', () => {
    test('headers only', async () => {
      const etag = fake.putObject(BUCKET, 'h.txt', 'héllo', { contentType: 'text/plain', metadata: { Run: '42' } });
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'h.txt' }));
      expect(head).toMatchObject({ ETag: etag, ContentLength: 6, ContentType: 'text/plain', Metadata: { run: '42' } });
      expect(head.LastModified).toEqual(fake.describeObject(BUCKET, 'h.txt')!.lastModified);
    });

    test('a missing key or bucket is a body-less 404, which the SDK names NotFound', async () => {
      const err = await rejection(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'missing' })));
      expect(err).toBeInstanceOf(NotFound);
      expect(err.$metadata.httpStatusCode).toBe(404);
      const bucketErr = await rejection(s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket' })));
      expect(bucketErr.name).toBe('NotFound');
    });
  });

  describe('ListObjectsV2', () => {
    test('pages through a few thousand keys with the SDK paginator (1000 per page)', async () => {
      const keys = Array.from({ length: 2500 }, (_, i) => `batch/${String(i).padStart(5, '0')}.json`);
      for (const key of keys) fake.putObject(BUCKET, key, '{}');
      fake.putObject(BUCKET, 'other/x', 'not listed');

      const pages: ListObjectsV2CommandOutput[] = [];
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: BUCKET, Prefix: 'batch/' })) {
        pages.push(page);
      }
      expect(pages.map((p) => p.KeyCount)).toEqual([1000, 1000, 500]);
      expect(pages.map((p) => p.IsTruncated)).toEqual([true, true, false]);
      expect(pages.flatMap((p) => p.Contents ?? []).map((c) => c.Key)).toEqual(keys);
      const first = pages[0].Contents![0];
      expect(first).toMatchObject({ Key: keys[0], ETag: md5Etag(Buffer.from('{}')), Size: 2, StorageClass: 'STANDARD' });
      expect(first.LastModified).toBeInstanceOf(Date);
      expect(fake.listKeys(BUCKET, 'batch/')).toEqual(keys);
    });

    test('MaxKeys, ContinuationToken and StartAfter', async () => {
      const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
      for (const key of keys) fake.putObject(BUCKET, key, key);

      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 3, ContinuationToken: token }));
        expect(page.MaxKeys).toBe(3);
        seen.push(...(page.Contents ?? []).map((c) => c.Key!));
        token = page.NextContinuationToken;
        pages += 1;
      } while (token);
      expect(seen).toEqual(keys);
      expect(pages).toBe(3);

      const after = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, StartAfter: 'e' }));
      expect(after.Contents?.map((c) => c.Key)).toEqual(['f', 'g']);
      expect(after.StartAfter).toBe('e');

      const bad = await rejection(s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: 'garbage' })));
      expect(bad.name).toBe('InvalidArgument');
    });

    test('Delimiter rolls keys up into CommonPrefixes, across pages', async () => {
      for (const key of ['in/a/1', 'in/a/2', 'in/b/1', 'in/c', 'in/d/x/y', 'in/e']) fake.putObject(BUCKET, key, '');
      const entries: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'in/', Delimiter: '/', MaxKeys: 2, ContinuationToken: token }),
        );
        expect(page.KeyCount).toBeLessThanOrEqual(2);
        // S3 counts prefixes and keys together towards MaxKeys, in one sorted sequence.
        const onPage = [...(page.CommonPrefixes ?? []).map((p) => p.Prefix!), ...(page.Contents ?? []).map((c) => c.Key!)];
        entries.push(...onPage.sort());
        token = page.NextContinuationToken;
      } while (token);
      expect(entries).toEqual(['in/a/', 'in/b/', 'in/c', 'in/d/', 'in/e']);
    });

    test('keys are listed in UTF-8 byte order, as S3 does (not JavaScript string order)', async () => {
      for (const key of ['😀', '\uFFFD', 'Z', 'a']) fake.putObject(BUCKET, key, '');
      const list = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
      expect(list.Contents?.map((c) => c.Key)).toEqual(['Z', 'a', '\uFFFD', '😀']);
      expect(fake.listKeys(BUCKET)).toEqual(['Z', 'a', '\uFFFD', '😀']);
      expect(['😀', '\uFFFD'].sort()).toEqual(['😀', '\uFFFD']); // what a plain sort would have given
    });
  });

  describe('DeleteObject and CopyObject', () => {
    test('DeleteObject removes the key, and deleting a missing key still succeeds (204)', async () => {
      fake.putObject(BUCKET, 'gone.txt', 'x');
      const out = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'gone.txt' }));
      expect(out.$metadata.httpStatusCode).toBe(204);
      expect(fake.listKeys(BUCKET)).toEqual([]);
      const again = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'gone.txt' }));
      expect(again.$metadata.httpStatusCode).toBe(204);
    });

    test('CopyObject copies bytes and metadata, or replaces metadata with REPLACE', async () => {
      const source = 'in/raw file ü.csv';
      const etag = fake.putObject(BUCKET, source, 'a,b\r\n', { contentType: 'text/csv', metadata: { stage: 'raw' } });
      fake.createBucket('archive');

      const copied = await s3.send(new CopyObjectCommand({ Bucket: 'archive', Key: 'kept.csv', CopySource: copySource(BUCKET, source) }));
      expect(copied.CopyObjectResult?.ETag).toBe(etag);
      expect(copied.CopyObjectResult?.LastModified).toBeInstanceOf(Date);
      expect(fake.describeObject('archive', 'kept.csv')).toMatchObject({
        contentType: 'text/csv',
        metadata: { stage: 'raw' },
      });
      expect(fake.getObject('archive', 'kept.csv')?.toString()).toBe('a,b\r\n');

      await s3.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: source,
          CopySource: copySource(BUCKET, source),
          MetadataDirective: 'REPLACE',
          ContentType: 'text/plain',
          Metadata: { stage: 'done' },
        }),
      );
      expect(fake.describeObject(BUCKET, source)).toMatchObject({ contentType: 'text/plain', metadata: { stage: 'done' } });

      const missing = await rejection(
        s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'x', CopySource: copySource(BUCKET, 'missing') })),
      );
      expect(missing.name).toBe('NoSuchKey');
    });
  });

  describe('multipart uploads through @aws-sdk/lib-storage', () => {
    test('an 11 MiB buffer goes up in three parts and is stored whole, with the multipart ETag', async () => {
      const body = bytes(11 * 1024 * 1024, 3);
      const result = await new Upload({ client: s3, params: { Bucket: BUCKET, Key: 'up/big.bin', Body: body } }).done();

      const partMd5s = [0, 1, 2].map((i) =>
        createHash('md5')
          .update(body.subarray(i * 5 * 1024 * 1024, (i + 1) * 5 * 1024 * 1024))
          .digest(),
      );
      const expectedEtag = `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-3"`;
      expect(result.ETag).toBe(expectedEtag);
      expect(result.Key).toBe('up/big.bin');
      expect(fake.getObject(BUCKET, 'up/big.bin')?.equals(body)).toBe(true);
      expect(fake.operations.filter((op) => op !== 'UploadPart')).toEqual(['CreateMultipartUpload', 'CompleteMultipartUpload']);
      expect(fake.operationCount('UploadPart')).toBe(3);
      expect(fake.openMultipartUploads).toBe(0);

      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'up/big.bin' }));
      expect(got.ETag).toBe(expectedEtag);
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    });

    test('a stream of unknown length is uploaded multipart too', async () => {
      const body = bytes(6 * 1024 * 1024 + 5, 4);
      const chunks = Array.from({ length: 7 }, (_, i) => body.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
      await new Upload({ client: s3, params: { Bucket: BUCKET, Key: 'up/stream.bin', Body: Readable.from(chunks) } }).done();
      expect(fake.getObject(BUCKET, 'up/stream.bin')?.equals(body)).toBe(true);
      expect(fake.describeObject(BUCKET, 'up/stream.bin')?.etag).toMatch(/-2"$/);
    });

    test('a small body is a single PutObject', async () => {
      await new Upload({ client: s3, params: { Bucket: BUCKET, Key: 'up/small.txt', Body: 'tiny' } }).done();
      expect(fake.operations).toEqual(['PutObject']);
      expect(fake.getObject(BUCKET, 'up/small.txt')?.toString()).toBe('tiny');
    });

    test('a failed part aborts the upload', async () => {
      fake.injectFault('UploadPart', { status: 500, code: 'InternalError' });
      const upload = new Upload({ client: noRetry, params: { Bucket: BUCKET, Key: 'up/fail.bin', Body: bytes(6 * 1024 * 1024) } });
      const err = await rejection(upload.done());
      expect(err.name).toBe('InternalError');
      expect(fake.operationCount('AbortMultipartUpload')).toBe(1);
      expect(fake.openMultipartUploads).toBe(0);
      expect(fake.getObject(BUCKET, 'up/fail.bin')).toBeUndefined();
    });
  });

  describe('faults and the operation log', () => {
    test('an injected 500 InternalError is retried by the SDK and then succeeds', async () => {
      fake.putObject(BUCKET, 'k', 'v');
      fake.injectFault('GetObject', { status: 500, code: 'InternalError' });
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' }));
      expect(await got.Body!.transformToString()).toBe('v');
      expect(got.$metadata.attempts).toBe(2);
      expect(fake.operations).toEqual(['GetObject', 'GetObject']);
      expect(fake.operationCount('GetObject')).toBe(2);
    });

    test('an injected 503 SlowDown is retried as throttling', async () => {
      fake.injectFault('PutObject', { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' });
      const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'v' }));
      expect(put.$metadata.attempts).toBe(2);
      expect(fake.getObject(BUCKET, 'k')?.toString()).toBe('v');
    });

    test('faults are queued per operation and consumed once each', async () => {
      fake.putObject(BUCKET, 'k', 'v');
      fake.injectFault('GetObject', { status: 500, code: 'InternalError' });
      fake.injectFault('GetObject', { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' });

      const first = await rejection(noRetry.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' })));
      expect(first.name).toBe('InternalError');
      expect(first.$metadata.httpStatusCode).toBe(500);
      // Other operations are not affected.
      await noRetry.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'k' }));
      const second = await rejection(noRetry.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' })));
      expect(second.name).toBe('SlowDown');
      expect(second.message).toBe('Please reduce your request rate.');
      expect(second.$metadata.httpStatusCode).toBe(503);
      const third = await noRetry.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' }));
      expect(await third.Body!.transformToString()).toBe('v');
    });

    test('a fault on HeadObject has no body and is still retried', async () => {
      fake.putObject(BUCKET, 'k', 'v');
      fake.injectFault('HeadObject', { status: 503, code: 'SlowDown' });
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'k' }));
      expect(head.$metadata.attempts).toBe(2);
    });

    test('operations it does not implement are 501 NotImplemented, logged by the SDK x-id', async () => {
      const err = await rejection(s3.send(new ListBucketsCommand({})));
      expect(err.name).toBe('NotImplemented');
      expect(err.$metadata.httpStatusCode).toBe(501);
      expect(fake.operations).toEqual(['ListBuckets']);
    });

    test('CreateBucket over HTTP, and reset() forgets everything', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'fresh' }));
      await s3.send(new HeadBucketCommand({ Bucket: 'fresh' }));
      fake.putObject('fresh', 'k', 'v');
      fake.injectFault('GetObject', { status: 500, code: 'InternalError' });
      fake.reset();
      expect(fake.operations).toEqual([]);
      expect(() => fake.listKeys('fresh')).toThrow(/no bucket "fresh"/);
      fake.createBucket('fresh');
      fake.putObject('fresh', 'k', 'v');
      const got = await noRetry.send(new GetObjectCommand({ Bucket: 'fresh', Key: 'k' }));
      expect(await got.Body!.transformToString()).toBe('v');
    });
  });

  test('a host-name endpoint needs forcePathStyle: true (SDK v3 has no environment variable for it)', async () => {
    fake.putObject(BUCKET, 'k', 'v');
    const client = new S3Client({ endpoint: fake.url.replace('127.0.0.1', 'localhost'), forcePathStyle: true });
    try {
      const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' }));
      expect(await got.Body!.transformToString()).toBe('v');
    } finally {
      client.destroy();
    }
  });
});

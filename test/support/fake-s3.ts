/**
 * A loopback HTTP server that stands in for S3, so tests can run the REAL `@aws-sdk/client-s3` (and
 * `@aws-sdk/lib-storage`) against in-memory buckets, pointed here with AWS_ENDPOINT_URL_S3.
 *
 * Addressing: the S3 client puts the bucket in the path ("path-style", `/{bucket}/{key}`) by itself when
 * the endpoint host is an IP address, which `url` (http://127.0.0.1:PORT) is, so no client option is
 * needed. With a host NAME such as http://localhost:PORT it would use virtual-hosted style
 * (`http://{bucket}.localhost:PORT/{key}`) and fail to resolve; SDK v3 has no environment variable for
 * that, only the client option `new S3Client({ forcePathStyle: true })`. This server understands
 * path-style only.
 *
 * Protocol: restXml as the SDK parses it. Object operations answer with headers (ETag, Content-Length,
 * Last-Modified, x-amz-meta-*), listings and errors with S3's XML documents (`<Error><Code>..` unwrapped,
 * so the SDK throws e.g. `NoSuchKey`); HEAD errors carry no body, and the SDK names a body-less 404
 * `NotFound`, as against real S3. Signatures are not checked.
 *
 * Integrity: request bodies sent as `aws-chunked` (the SDK does so for streams, with a trailing
 * checksum) are decoded; x-amz-checksum-crc32/crc32c/sha1/sha256, Content-MD5 and a hex
 * x-amz-content-sha256 are verified (BadDigest / XAmzContentSHA256Mismatch otherwise). GetObject answers
 * the SDK's default `x-amz-checksum-mode: ENABLED` with the object's checksum, so the SDK verifies every
 * whole-object download byte for byte. Deviation: objects stored without a client checksum (and
 * multipart objects) get a full-object CRC32 computed here, where real S3 would report CRC64NVME
 * (which the SDK can only verify with the CRT installed) or a composite `...-N` checksum.
 *
 * Multipart (CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload) is
 * supported, enough for lib-storage's `Upload` of bodies of 5 MiB and more; the multipart ETag is S3's
 * `"md5(concatenated part md5s)-N"`.
 *
 * Not implemented (501 NotImplemented): ListBuckets, ListObjects (v1), versioning, tagging, ACLs,
 * DeleteObjects, UploadPartCopy, ListParts, `encoding-type=url`, conditional requests.
 */
import type * as http from 'node:http';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { LoopbackServer } from './http-util';

export const FAKE_S3_REGION = 'us-east-1';

export type FakeS3Operation =
  | 'CreateBucket'
  | 'HeadBucket'
  | 'DeleteBucket'
  | 'ListObjectsV2'
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'CopyObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload';

/** An S3 error to answer once, e.g. { status: 500, code: 'InternalError' } or { status: 503, code: 'SlowDown' }. */
export interface S3Fault {
  readonly status: number;
  readonly code: string;
  readonly message?: string;
}

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

export interface PutObjectOptions {
  /** Default binary/octet-stream, as S3. */
  readonly contentType?: string;
  /** User metadata (x-amz-meta-*); names are lower-cased as S3 does. */
  readonly metadata?: Record<string, string>;
}

/** One stored object, as the tests can inspect it. */
export interface FakeS3Object {
  readonly body: Buffer;
  /** Quoted, as S3 sends it: `"<md5 hex>"`, or `"<md5 hex>-<parts>"` for a multipart upload. */
  readonly etag: string;
  /** Whole seconds, as S3's Last-Modified header. */
  readonly lastModified: Date;
  readonly contentType: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly contentEncoding?: string;
  readonly contentDisposition?: string;
  readonly cacheControl?: string;
  readonly checksum: { readonly algorithm: ChecksumAlgorithm; readonly value: string };
}

interface Bucket {
  readonly objects: Map<string, FakeS3Object>;
  /** Keys in S3 listing order (UTF-8 bytes), rebuilt lazily after a write. */
  sortedKeys?: string[];
}

interface UploadedPart {
  readonly body: Buffer;
  readonly etag: string;
  readonly md5: Buffer;
}

interface MultipartUpload {
  readonly bucket: string;
  readonly key: string;
  readonly attributes: ObjectAttributes;
  readonly parts: Map<number, UploadedPart>;
}

type ObjectAttributes = Pick<FakeS3Object, 'contentType' | 'metadata' | 'contentEncoding' | 'contentDisposition' | 'cacheControl'>;

/** Thrown inside an operation to answer an S3 error document. */
class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface S3Request {
  readonly req: http.IncomingMessage;
  readonly method: string;
  readonly bucket: string;
  readonly key: string;
  readonly query: URLSearchParams;
  readonly body: Buffer;
}

const RESPONSE_OVERRIDES: readonly [string, string][] = [
  ['response-content-type', 'Content-Type'],
  ['response-content-disposition', 'Content-Disposition'],
  ['response-content-encoding', 'Content-Encoding'],
  ['response-content-language', 'Content-Language'],
  ['response-cache-control', 'Cache-Control'],
  ['response-expires', 'Expires'],
];
const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_KEYS = 1000;
const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
/** Query parameters that do not change which operation a request is (anything else is a subresource). */
const PLAIN_QUERY = new Set([
  'x-id',
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'continuation-token',
  'start-after',
  'fetch-owner',
  'uploads',
  'uploadId',
  'partNumber',
]);

export class FakeS3 {
  static async start(): Promise<FakeS3> {
    const fake = new FakeS3();
    fake.server = await LoopbackServer.listen((req, res) => {
      fake.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          sendError(res, req.method ?? 'GET', new S3Error(500, 'InternalError', `fake-s3 bug: ${String(err)}`));
        }
      });
    });
    return fake;
  }

  private server!: LoopbackServer;
  private readonly buckets = new Map<string, Bucket>();
  private readonly uploads = new Map<string, MultipartUpload>();
  private readonly faults = new Map<string, S3Fault[]>();
  private readonly operationLog: string[] = [];

  private constructor() {}

  /** http://127.0.0.1:PORT: the value for AWS_ENDPOINT_URL_S3 (or a client's `endpoint`). */
  get url(): string {
    return this.server.url;
  }

  /**
   * The operation of every request, in order, retries included. Requests this fake does not implement
   * are logged under the SDK's `x-id` query value when it sends one, else 'Unknown'.
   */
  get operations(): readonly string[] {
    return [...this.operationLog];
  }

  get requestCount(): number {
    return this.operationLog.length;
  }

  /** How many requests of `operation` arrived (retries count). */
  operationCount(operation: FakeS3Operation): number {
    return this.operationLog.filter((op) => op === operation).length;
  }

  /** Multipart uploads created and neither completed nor aborted. */
  get openMultipartUploads(): number {
    return this.uploads.size;
  }

  /** Answers the next request of `operation` with this error instead (queued; each consumed once). */
  injectFault(operation: FakeS3Operation, fault: S3Fault): void {
    this.faults.set(operation, [...(this.faults.get(operation) ?? []), fault]);
  }

  /** Forgets buckets, objects, open uploads, faults and the operation log. */
  reset(): void {
    this.buckets.clear();
    this.uploads.clear();
    this.faults.clear();
    this.operationLog.length = 0;
  }

  async close(): Promise<void> {
    await this.server.close();
  }

  /** Creates an empty bucket; a no-op if it exists (as S3 in us-east-1 for the owner). */
  createBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, { objects: new Map() });
  }

  /** Stores an object directly (no request is logged) and returns its ETag, quoted as S3 sends it. */
  putObject(bucket: string, key: string, body: string | Buffer, options: PutObjectOptions = {}): string {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
    return this.store(this.requireBucket(bucket), key, bytes, {
      contentType: options.contentType ?? 'binary/octet-stream',
      metadata: lowerCaseKeys(options.metadata ?? {}),
    }).etag;
  }

  /** A copy of the object's bytes, or undefined. */
  getObject(bucket: string, key: string): Buffer | undefined {
    const object = this.buckets.get(bucket)?.objects.get(key);
    return object ? Buffer.from(object.body) : undefined;
  }

  /** The stored object with its attributes (ETag, content type, metadata...), or undefined. */
  describeObject(bucket: string, key: string): FakeS3Object | undefined {
    return this.buckets.get(bucket)?.objects.get(key);
  }

  /** Keys in `bucket` starting with `prefix`, in S3's listing order (UTF-8 byte order). */
  listKeys(bucket: string, prefix = ''): string[] {
    return sortedKeys(this.requireBucket(bucket)).filter((key) => key.startsWith(prefix));
  }

  private requireBucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new Error(`FakeS3: no bucket "${name}" (call createBucket first)`);
    return bucket;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readRawBody(req);
    const method = req.method ?? 'GET';
    // Parse the raw path by hand: new URL() would resolve "." and ".." segments, which are legal in keys.
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1));
    const slash = rawPath.indexOf('/', 1);
    const bucket = safeDecode(slash === -1 ? rawPath.slice(1) : rawPath.slice(1, slash));
    const key = slash === -1 ? '' : safeDecode(rawPath.slice(slash + 1));

    const operation = operationOf(method, bucket, key, query, req);
    this.operationLog.push(operation ?? query.get('x-id') ?? 'Unknown');
    try {
      if (!operation) {
        throw new S3Error(501, 'NotImplemented', `fake-s3 does not implement ${method} ${rawUrl}`);
      }
      const fault = this.faults.get(operation)?.shift();
      if (fault) throw new S3Error(fault.status, fault.code, fault.message ?? `Injected ${fault.code}`);
      this.run(operation, { req, method, bucket, key, query, body }, res);
    } catch (err) {
      const error = err instanceof S3Error ? err : new S3Error(500, 'InternalError', `fake-s3 bug: ${String(err)}`);
      sendError(res, method, error);
    }
  }

  private run(operation: FakeS3Operation, r: S3Request, res: http.ServerResponse): void {
    switch (operation) {
      case 'CreateBucket':
        this.createBucket(r.bucket);
        return send(res, 200, { Location: `/${r.bucket}` });
      case 'HeadBucket':
        this.bucketOf(r.bucket);
        return send(res, 200, { 'x-amz-bucket-region': FAKE_S3_REGION });
      case 'DeleteBucket': {
        if (this.bucketOf(r.bucket).objects.size > 0) {
          throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', {
            BucketName: r.bucket,
          });
        }
        this.buckets.delete(r.bucket);
        return send(res, 204);
      }
      case 'ListObjectsV2':
        return sendXml(res, 200, this.listObjectsV2(r));
      case 'PutObject': {
        const bucket = this.bucketOf(r.bucket);
        const { body, checksum } = verifiedBody(r);
        const object = this.store(bucket, r.key, body, attributesFrom(r.req), checksum);
        return send(res, 200, { ETag: object.etag, ...checksumHeaders(object.checksum) });
      }
      case 'GetObject':
        return this.getObjectResponse(r, res, true);
      case 'HeadObject':
        return this.getObjectResponse(r, res, false);
      case 'DeleteObject': {
        const bucket = this.bucketOf(r.bucket);
        if (bucket.objects.delete(r.key)) bucket.sortedKeys = undefined;
        return send(res, 204);
      }
      case 'CopyObject':
        return sendXml(res, 200, this.copyObject(r));
      case 'CreateMultipartUpload': {
        this.bucketOf(r.bucket);
        const uploadId = randomBytes(24).toString('base64url');
        this.uploads.set(uploadId, {
          bucket: r.bucket,
          key: r.key,
          attributes: attributesFrom(r.req),
          parts: new Map(),
        });
        const algorithm = header(r.req, 'x-amz-checksum-algorithm');
        return sendXml(
          res,
          200,
          xmlDocument('InitiateMultipartUploadResult', [
            ['Bucket', r.bucket],
            ['Key', r.key],
            ['UploadId', uploadId],
          ]),
          algorithm ? { 'x-amz-checksum-algorithm': algorithm } : {},
        );
      }
      case 'UploadPart': {
        const upload = this.uploadOf(r);
        const partNumber = Number(r.query.get('partNumber'));
        if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
          throw new S3Error(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
        }
        const { body, checksum } = verifiedBody(r);
        const md5 = createHash('md5').update(body).digest();
        const etag = `"${md5.toString('hex')}"`;
        upload.parts.set(partNumber, { body, etag, md5 });
        return send(res, 200, { ETag: etag, ...(checksum ? checksumHeaders(checksum) : {}) });
      }
      case 'CompleteMultipartUpload':
        return sendXml(res, 200, this.completeMultipartUpload(r));
      case 'AbortMultipartUpload':
        this.uploadOf(r);
        this.uploads.delete(r.query.get('uploadId') ?? '');
        return send(res, 204);
    }
  }

  private bucketOf(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) {
      throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
    }
    return bucket;
  }

  private objectOf(r: S3Request): FakeS3Object {
    const object = this.bucketOf(r.bucket).objects.get(r.key);
    if (!object) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: r.key });
    return object;
  }

  private uploadOf(r: S3Request): MultipartUpload {
    this.bucketOf(r.bucket);
    const upload = this.uploads.get(r.query.get('uploadId') ?? '');
    if (!upload || upload.bucket !== r.bucket || upload.key !== r.key) {
      throw new S3Error(
        404,
        'NoSuchUpload',
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        { UploadId: r.query.get('uploadId') ?? '' },
      );
    }
    return upload;
  }

  private store(
    bucket: Bucket,
    key: string,
    body: Buffer,
    attributes: ObjectAttributes,
    checksum?: FakeS3Object['checksum'],
    etag = `"${createHash('md5').update(body).digest('hex')}"`,
  ): FakeS3Object {
    const object: FakeS3Object = {
      ...attributes,
      body,
      etag,
      lastModified: new Date(Math.floor(Date.now() / 1000) * 1000),
      checksum: checksum ?? { algorithm: 'CRC32', value: computeChecksum('CRC32', body)! },
    };
    if (!bucket.objects.has(key)) bucket.sortedKeys = undefined;
    bucket.objects.set(key, object);
    return object;
  }

  private getObjectResponse(r: S3Request, res: http.ServerResponse, withBody: boolean): void {
    const object = this.objectOf(r);
    const size = object.body.length;
    const range = withBody ? parseRange(header(r.req, 'range'), size) : undefined;
    const headers: Record<string, string> = {
      'ETag': object.etag,
      'Last-Modified': object.lastModified.toUTCString(),
      'Content-Type': object.contentType,
      'Accept-Ranges': 'bytes',
      ...(object.contentEncoding ? { 'Content-Encoding': object.contentEncoding } : {}),
      ...(object.contentDisposition ? { 'Content-Disposition': object.contentDisposition } : {}),
      ...(object.cacheControl ? { 'Cache-Control': object.cacheControl } : {}),
      ...Object.fromEntries(Object.entries(object.metadata).map(([k, v]) => [`x-amz-meta-${k}`, v])),
    };
    // GetObject's response-* query parameters override the stored headers for this answer.
    for (const [param, name] of RESPONSE_OVERRIDES) {
      const value = withBody ? r.query.get(param) : null;
      if (value !== null) headers[name] = value;
    }
    // As S3: a whole-object checksum only when asked for, and never for a range.
    if (!range && header(r.req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') {
      Object.assign(headers, checksumHeaders(object.checksum));
    }
    if (range) {
      const [start, end] = range;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
      return send(res, 206, headers, object.body.subarray(start, end + 1));
    }
    if (!withBody) return send(res, 200, { ...headers, 'Content-Length': String(size) });
    return send(res, 200, headers, object.body);
  }

  private listObjectsV2(r: S3Request): string {
    const bucket = this.bucketOf(r.bucket);
    if (r.query.has('encoding-type')) {
      throw new S3Error(501, 'NotImplemented', 'fake-s3 does not implement encoding-type');
    }
    const prefix = r.query.get('prefix') ?? '';
    const delimiter = r.query.get('delimiter') || undefined;
    const startAfter = r.query.get('start-after') ?? undefined;
    const token = r.query.get('continuation-token') ?? undefined;
    const maxKeysParam = r.query.get('max-keys');
    const maxKeys = maxKeysParam === null ? MAX_KEYS : Number(maxKeysParam);
    if (!Number.isInteger(maxKeys) || maxKeys < 0) {
      throw new S3Error(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range');
    }
    const limit = Math.min(maxKeys, MAX_KEYS);
    const resume = token !== undefined ? decodeToken(token) : undefined;
    const after = resume?.after ?? startAfter;

    const contents: FakeS3Object[] = [];
    const contentKeys: string[] = [];
    const commonPrefixes: string[] = [];
    let last: ContinuationPoint | undefined;
    let truncated = false;
    for (const key of sortedKeys(bucket)) {
      if (!key.startsWith(prefix)) continue;
      if (after !== undefined && compareKeys(key, after) <= 0) continue;
      // A page that ended on a common prefix resumes after everything under it.
      if (resume?.rolledUp && key.startsWith(resume.after)) continue;
      const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      const rolledUp = cut !== -1 ? key.slice(0, cut + delimiter!.length) : undefined;
      if (rolledUp !== undefined && rolledUp === commonPrefixes[commonPrefixes.length - 1]) continue;
      if (contents.length + commonPrefixes.length >= limit) {
        truncated = true;
        break;
      }
      if (rolledUp !== undefined) {
        commonPrefixes.push(rolledUp);
        last = { after: rolledUp, rolledUp: true };
      } else {
        contents.push(bucket.objects.get(key)!);
        contentKeys.push(key);
        last = { after: key, rolledUp: false };
      }
    }

    const fields: XmlField[] = [
      ['Name', r.bucket],
      ['Prefix', prefix],
      ...(delimiter !== undefined ? [['Delimiter', delimiter] as XmlField] : []),
      ['MaxKeys', String(maxKeys)],
      ['KeyCount', String(contents.length + commonPrefixes.length)],
      ['IsTruncated', String(truncated)],
      ...(token !== undefined ? [['ContinuationToken', token] as XmlField] : []),
      ...(truncated && last ? [['NextContinuationToken', encodeToken(last)] as XmlField] : []),
      ...(startAfter !== undefined ? [['StartAfter', startAfter] as XmlField] : []),
      ...contents.map((object, i): XmlField => [
        'Contents',
        [
          ['Key', contentKeys[i]],
          ['LastModified', object.lastModified.toISOString()],
          ['ETag', object.etag],
          ['ChecksumAlgorithm', object.checksum.algorithm],
          ['ChecksumType', 'FULL_OBJECT'],
          ['Size', String(object.body.length)],
          ['StorageClass', 'STANDARD'],
        ],
      ]),
      ...commonPrefixes.map((p): XmlField => ['CommonPrefixes', [['Prefix', p]]]),
    ];
    return xmlDocument('ListBucketResult', fields);
  }

  private copyObject(r: S3Request): string {
    const target = this.bucketOf(r.bucket);
    const source = parseCopySource(header(r.req, 'x-amz-copy-source') ?? '');
    const from = this.bucketOf(source.bucket).objects.get(source.key);
    if (!from) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: source.key });
    const replace = header(r.req, 'x-amz-metadata-directive')?.toUpperCase() === 'REPLACE';
    if (!replace && source.bucket === r.bucket && source.key === r.key) {
      throw new S3Error(
        400,
        'InvalidRequest',
        'This copy request is illegal because it is trying to copy an object to itself without changing the ' +
          "object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    const attributes: ObjectAttributes = replace
      ? attributesFrom(r.req)
      : {
          contentType: from.contentType,
          metadata: from.metadata,
          contentEncoding: from.contentEncoding,
          contentDisposition: from.contentDisposition,
          cacheControl: from.cacheControl,
        };
    const object = this.store(target, r.key, from.body, attributes, from.checksum, from.etag);
    return xmlDocument('CopyObjectResult', [
      ['ETag', object.etag],
      ['LastModified', object.lastModified.toISOString()],
    ]);
  }

  private completeMultipartUpload(r: S3Request): string {
    const upload = this.uploadOf(r);
    const requested = parseCompletedParts(r.body.toString('utf8'));
    if (requested.length === 0) {
      throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    }
    const parts: UploadedPart[] = [];
    requested.forEach(({ partNumber, etag }, i) => {
      if (i > 0 && partNumber <= requested[i - 1].partNumber) {
        throw new S3Error(
          400,
          'InvalidPartOrder',
          'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
        );
      }
      const part = upload.parts.get(partNumber);
      if (!part || unquote(part.etag) !== unquote(etag)) {
        throw new S3Error(
          400,
          'InvalidPart',
          "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
          {
            PartNumber: String(partNumber),
            ETag: etag,
          },
        );
      }
      parts.push(part);
    });
    parts.slice(0, -1).forEach((part, i) => {
      if (part.body.length < MIN_PART_SIZE) {
        throw new S3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
          ProposedSize: String(part.body.length),
          MinSizeAllowed: String(MIN_PART_SIZE),
          PartNumber: String(requested[i].partNumber),
        });
      }
    });
    const etag = `"${createHash('md5')
      .update(Buffer.concat(parts.map((p) => p.md5)))
      .digest('hex')}-${parts.length}"`;
    const body = Buffer.concat(parts.map((p) => p.body));
    const object = this.store(this.bucketOf(r.bucket), r.key, body, upload.attributes, undefined, etag);
    this.uploads.delete(r.query.get('uploadId') ?? '');
    return xmlDocument('CompleteMultipartUploadResult', [
      ['Location', `${this.url}/${encodeURIComponent(r.bucket)}/${r.key.split('/').map(encodeURIComponent).join('/')}`],
      ['Bucket', r.bucket],
      ['Key', r.key],
      ['ETag', object.etag],
    ]);
  }
}

/** Which operation a path-style request is, or undefined for what this fake does not implement. */
function operationOf(
  method: string,
  bucket: string,
  key: string,
  query: URLSearchParams,
  req: http.IncomingMessage,
): FakeS3Operation | undefined {
  for (const name of query.keys()) {
    if (!PLAIN_QUERY.has(name) && !name.startsWith('response-') && name !== 'encoding-type') return undefined;
  }
  if (!bucket) return undefined; // ListBuckets
  const copy = header(req, 'x-amz-copy-source') !== undefined;
  if (!key) {
    if (method === 'PUT') return 'CreateBucket';
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'DELETE') return 'DeleteBucket';
    if (method === 'GET' && query.get('list-type') === '2') return 'ListObjectsV2';
    return undefined;
  }
  switch (method) {
    case 'PUT':
      if (query.has('uploadId') || query.has('partNumber')) return copy ? undefined : 'UploadPart';
      return copy ? 'CopyObject' : 'PutObject';
    case 'GET':
      return query.has('partNumber') || query.has('uploadId') ? undefined : 'GetObject';
    case 'HEAD':
      return query.has('partNumber') ? undefined : 'HeadObject';
    case 'DELETE':
      return query.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    case 'POST':
      if (query.has('uploads')) return 'CreateMultipartUpload';
      if (query.has('uploadId')) return 'CompleteMultipartUpload';
      return undefined;
    default:
      return undefined;
  }
}

function readRawBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
  }
}

function lowerCaseKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k.toLowerCase(), v]));
}

function attributesFrom(req: http.IncomingMessage): ObjectAttributes {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) {
      metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
    }
  }
  // aws-chunked is a transfer detail of the upload, not part of the stored object (S3 drops it too).
  const encoding = header(req, 'content-encoding')
    ?.split(',')
    .map((e) => e.trim())
    .filter((e) => e && e !== 'aws-chunked')
    .join(',');
  return {
    contentType: header(req, 'content-type') ?? 'binary/octet-stream',
    metadata,
    contentEncoding: encoding || undefined,
    contentDisposition: header(req, 'content-disposition'),
    cacheControl: header(req, 'cache-control'),
  };
}

/**
 * The payload of a PutObject/UploadPart with aws-chunked framing removed, after checking every digest
 * the client sent. Returns the client's flexible checksum, if any, to be stored and echoed.
 */
function verifiedBody(r: S3Request): { body: Buffer; checksum?: FakeS3Object['checksum'] } {
  const contentSha256 = header(r.req, 'x-amz-content-sha256');
  const chunked =
    contentSha256?.startsWith('STREAMING-') === true ||
    (header(r.req, 'content-encoding') ?? '').split(',').some((e) => e.trim() === 'aws-chunked');
  const { body, trailers } = chunked ? decodeAwsChunked(r.body) : { body: r.body, trailers: {} };
  if (chunked) {
    const declared = header(r.req, 'x-amz-decoded-content-length');
    if (declared !== undefined && Number(declared) !== body.length) {
      throw new S3Error(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
    }
  } else if (contentSha256 && /^[0-9a-f]{64}$/i.test(contentSha256)) {
    if (createHash('sha256').update(body).digest('hex') !== contentSha256.toLowerCase()) {
      throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
  }
  const md5 = header(r.req, 'content-md5');
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5) {
    throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  let checksum: FakeS3Object['checksum'] | undefined;
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const name = `x-amz-checksum-${algorithm.toLowerCase()}`;
    const value = trailers[name] ?? header(r.req, name);
    if (value === undefined) continue;
    const computed = computeChecksum(algorithm, body);
    if (computed !== undefined && computed !== value) {
      throw new S3Error(400, 'BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
    }
    checksum = { algorithm, value };
  }
  return { body, checksum };
}

/** Undoes `Content-Encoding: aws-chunked`: `<hex size>[;chunk-signature=..]\r\n<bytes>\r\n` ... `0\r\n<trailers>\r\n`. */
function decodeAwsChunked(raw: Buffer): { body: Buffer; trailers: Record<string, string> } {
  const malformed = () => new S3Error(400, 'IncompleteBody', 'The aws-chunked request body is malformed');
  const chunks: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    if (eol === -1) throw malformed();
    const size = parseInt(raw.subarray(at, eol).toString('latin1').split(';')[0], 16);
    if (!Number.isInteger(size) || size < 0) throw malformed();
    at = eol + 2;
    if (size === 0) break;
    if (at + size + 2 > raw.length) throw malformed();
    chunks.push(raw.subarray(at, at + size));
    at += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of raw.subarray(at).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { body: Buffer.concat(chunks), trailers };
}

function checksumHeaders(checksum: FakeS3Object['checksum']): Record<string, string> {
  return {
    [`x-amz-checksum-${checksum.algorithm.toLowerCase()}`]: checksum.value,
    'x-amz-checksum-type': 'FULL_OBJECT',
  };
}

/** The base64 checksum as S3 headers carry it; undefined for CRC64NVME, which is stored unverified. */
function computeChecksum(algorithm: ChecksumAlgorithm, body: Buffer): string | undefined {
  switch (algorithm) {
    case 'CRC32':
      return crcBase64(CRC32_TABLE, body);
    case 'CRC32C':
      return crcBase64(CRC32C_TABLE, body);
    case 'SHA1':
      return createHash('sha1').update(body).digest('base64');
    case 'SHA256':
      return createHash('sha256').update(body).digest('base64');
    default:
      return undefined;
  }
}

function crcTable(reversedPolynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? reversedPolynomial ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

const CRC32_TABLE = crcTable(0xedb88320);
const CRC32C_TABLE = crcTable(0x82f63b78);

function crcBase64(table: Uint32Array, body: Buffer): string {
  let c = 0xffffffff;
  for (let i = 0; i < body.length; i++) c = table[(c ^ body[i]) & 0xff] ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

/** One `Range: bytes=...` as [start, end] inclusive; undefined for none (or a form S3 would ignore). */
function parseRange(value: string | undefined, size: number): [number, number] | undefined {
  const match = value === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) {
    throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', {
      RangeRequested: value!,
      ActualObjectSize: String(size),
    });
  }
  return [start, end];
}

/** `x-amz-copy-source`: "bucket/key" or "/bucket/key", URL-encoded, optionally "?versionId=..". */
function parseCopySource(value: string): { bucket: string; key: string } {
  const path = value.split('?')[0].replace(/^\//, '');
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) {
    throw new S3Error(400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
  }
  return { bucket: safeDecode(path.slice(0, slash)), key: safeDecode(path.slice(slash + 1)) };
}

function parseCompletedParts(xml: string): { partNumber: number; etag: string }[] {
  return [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map(([, part]) => ({
    partNumber: Number(/<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(part)?.[1] ?? NaN),
    etag: unescapeXml(/<ETag>([\s\S]*?)<\/ETag>/.exec(part)?.[1] ?? ''),
  }));
}

function unquote(etag: string): string {
  return etag.trim().replace(/^"|"$/g, '');
}

interface ContinuationPoint {
  readonly after: string;
  /** `after` is a common prefix: skip every key under it too. */
  readonly rolledUp: boolean;
}

function encodeToken(point: ContinuationPoint): string {
  return Buffer.from(JSON.stringify(point), 'utf8').toString('base64');
}

function decodeToken(token: string): ContinuationPoint {
  try {
    const point = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as ContinuationPoint;
    if (typeof point.after === 'string' && typeof point.rolledUp === 'boolean') return point;
  } catch {
    // fall through
  }
  throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect');
}

/** S3 lists in UTF-8 byte order (= code point order), which differs from JS's UTF-16 order above U+FFFF. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function sortedKeys(bucket: Bucket): string[] {
  if (!bucket.sortedKeys) {
    bucket.sortedKeys = [...bucket.objects.keys()]
      .map((key) => ({ key, bytes: Buffer.from(key, 'utf8') }))
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
      .map(({ key }) => key);
  }
  return bucket.sortedKeys;
}

type XmlField = [string, string | XmlField[]];

/**
 * Escapes text for an XML element. Carriage returns and other control characters go as character
 * references: a parser turns a literal "\r\n" into "\n" (the SDK's does), which would change keys.
 */
function escapeXml(text: string): string {
  // eslint-disable-next-line no-control-regex -- XML 1.0 cannot carry these control characters
  return text.replace(/[&<>"'\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`;
    }
  });
}

function unescapeXml(text: string): string {
  return text.replace(/&(?:#x([0-9a-fA-F]+)|#(\d+)|(amp|lt|gt|quot|apos));/g, (_, hex, dec, named) => {
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    if (dec) return String.fromCodePoint(parseInt(dec, 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[named];
  });
}

function xmlFields(fields: XmlField[]): string {
  return fields.map(([name, value]) => `<${name}>${typeof value === 'string' ? escapeXml(value) : xmlFields(value)}</${name}>`).join('');
}

function xmlDocument(root: string, fields: XmlField[]): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' + `<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${xmlFields(fields)}</${root}>`
  );
}

function requestIdHeaders(): Record<string, string> {
  return {
    'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
    'x-amz-id-2': randomBytes(48).toString('base64'),
    'Server': 'AmazonS3',
  };
}

function send(res: http.ServerResponse, status: number, headers: Record<string, string> = {}, body: Buffer = Buffer.alloc(0)): void {
  res.writeHead(status, {
    ...requestIdHeaders(),
    'Content-Length': String(body.length),
    ...headers,
  });
  res.end(body);
}

function sendXml(res: http.ServerResponse, status: number, xml: string, headers: Record<string, string> = {}): void {
  send(res, status, { 'Content-Type': 'application/xml', ...headers }, Buffer.from(xml, 'utf8'));
}

/** S3's error document, `<Error><Code>..</Code><Message>..</Message>..</Error>`; HEAD answers carry no body. */
function sendError(res: http.ServerResponse, method: string, error: S3Error): void {
  if (method === 'HEAD') return send(res, error.status);
  const requestId = randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error>${xmlFields([
      ['Code', error.code],
      ['Message', error.message],
      ...Object.entries(error.extra),
      ['RequestId', requestId],
      ['HostId', randomBytes(48).toString('base64')],
    ])}</Error>`;
  sendXml(res, error.status, xml, { 'x-amz-request-id': requestId });
}

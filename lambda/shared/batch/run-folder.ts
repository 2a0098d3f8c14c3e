import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/** `<outputPrefix>/<runId>`, or just `<runId>` without a prefix. */
export function runFolderPrefix(outputPrefix: string, runId: string): string {
  return outputPrefix === '' ? runId : `${outputPrefix}/${runId}`;
}

/** An ETag as the run files and action keys hold it: without the quotes (and `W/`) S3 puts on it. */
export function bareEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^(W\/)?"|"$/g, '');
}

/** Reads an object whole, with its ETag (quotes removed). For small objects only (a manifest, a test's file). */
export async function readObject(s3: S3Client, bucket: string, key: string): Promise<{ body: Buffer; etag: string }> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = Buffer.from(await response.Body!.transformToByteArray());
  return { body, etag: bareEtag(response.ETag) };
}

export async function readJson<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  return JSON.parse((await readObject(s3, bucket, key)).body.toString('utf8')) as T;
}

export async function writeObject(s3: S3Client, bucket: string, key: string, body: string, contentType: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
}

/** The object is no longer the content a first reading of it saw: a run never mixes two versions of its source. */
export class ObjectChangedError extends Error {
  override readonly name = 'ObjectChangedError';
}

export interface OpenedObject {
  /** The body, read as it arrives: never held whole. */
  readonly body: Readable;
  /** Without the quotes. */
  readonly etag: string;
  readonly size?: number;
}

/**
 * An object's body as a stream, with its ETag. `expectedEtag` (from an earlier reading of the same object):
 * fails with {@link ObjectChangedError}, reading nothing, when the object now has another content.
 */
export async function openObject(s3: S3Client, bucket: string, key: string, expectedEtag?: string): Promise<OpenedObject> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = response.Body as Readable;
  const etag = bareEtag(response.ETag);
  if (expectedEtag !== undefined && etag !== expectedEtag) {
    body.destroy();
    throw new ObjectChangedError(
      `s3://${bucket}/${key} changed while it was being read (ETag ${expectedEtag}, then ${etag}): nothing moves; start the run again`,
    );
  }
  return { body, etag, size: response.ContentLength };
}

/** A byte stream as UTF-8 text, chunk by chunk (a character split across chunks is kept whole). */
export async function* utf8Chunks(body: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  for await (const chunk of body) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (text !== '') yield text;
  }
  const rest = decoder.end();
  if (rest !== '') yield rest;
}

/**
 * S3's smallest part (5 MiB) for every part: an upload holds at most `UPLOAD_QUEUE_SIZE` parts in flight and
 * one being filled, so its memory is bounded whatever the object's size (up to 10,000 parts: 48.8 GiB).
 */
export const UPLOAD_PART_SIZE = 5 * 1024 * 1024;
export const UPLOAD_QUEUE_SIZE = 2;
/** Small writes are joined into chunks of about this many characters before they reach the upload's stream. */
const WRITE_CHUNK = 64 * 1024;

/**
 * Writes one object as a stream of text through lib-storage's `Upload`: one `PutObject` when it ends within
 * the first part, a multipart upload otherwise (parts of {@link UPLOAD_PART_SIZE}). Nothing is visible under
 * the key until {@link close} completes; {@link abort} ends the upload and leaves the key as it was.
 */
export class ObjectWriter {
  private readonly stream = new PassThrough();
  private readonly done: Promise<unknown>;
  private failure: { error: unknown } | undefined;
  private pending: string[] = [];
  private pendingLength = 0;
  private bytes = 0;

  constructor(s3: S3Client, bucket: string, key: string, contentType: string) {
    const upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: this.stream, ContentType: contentType },
      partSize: UPLOAD_PART_SIZE,
      queueSize: UPLOAD_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    this.done = upload.done();
    // Seen by the next write or close; never an unhandled rejection.
    this.done.catch((error: unknown) => {
      this.failure ??= { error };
    });
  }

  /** Characters written so far (for a log's size). */
  get written(): number {
    return this.bytes + this.pendingLength;
  }

  async write(text: string): Promise<void> {
    this.append(text);
    if (this.pendingLength >= WRITE_CHUNK) await this.flush();
  }

  /** Adds text to what the next write or close sends, without waiting. */
  append(text: string): void {
    this.pending.push(text);
    this.pendingLength += text.length;
  }

  /** Ends the object and waits until S3 has it. */
  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    await this.done;
  }

  /** Ends the upload without an object (a multipart upload is aborted, its parts removed). */
  async abort(): Promise<void> {
    this.pending = [];
    this.pendingLength = 0;
    this.stream.destroy(new Error('the object was not completed'));
    await this.done.catch(() => undefined);
  }

  private async flush(): Promise<void> {
    if (this.failure) throw this.failure.error;
    if (this.pendingLength === 0) return;
    const chunk = this.pending.join('');
    this.bytes += this.pendingLength;
    this.pending = [];
    this.pendingLength = 0;
    if (this.stream.write(chunk)) return;
    // The upload is behind (its parts in flight): wait for it, or for its failure.
    const ended = this.done.then(() => {
      throw new Error('the upload ended before its stream');
    });
    await Promise.race([once(this.stream, 'drain'), ended]);
  }
}

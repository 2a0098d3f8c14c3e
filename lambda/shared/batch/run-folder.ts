import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/** `<outputPrefix>/<runId>`, or just `<runId>` without a prefix. */
export function runFolderPrefix(outputPrefix: string, runId: string): string {
  return outputPrefix === '' ? runId : `${outputPrefix}/${runId}`;
}

/** Reads an object whole, with its ETag (quotes removed). */
export async function readObject(s3: S3Client, bucket: string, key: string): Promise<{ body: Buffer; etag: string }> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = Buffer.from(await response.Body!.transformToByteArray());
  return { body, etag: (response.ETag ?? '').replace(/^(W\/)?"|"$/g, '') };
}

export async function readJson<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  return JSON.parse((await readObject(s3, bucket, key)).body.toString('utf8')) as T;
}

export async function writeObject(s3: S3Client, bucket: string, key: string, body: string, contentType: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
}

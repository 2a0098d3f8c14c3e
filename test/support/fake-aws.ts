/**
 * One loopback HTTP server that stands in for SageMaker Runtime, Secrets Manager and SageMaker, so the
 * handler tests can run the REAL AWS SDK v3 clients (pointed here with AWS_ENDPOINT_URL_*).
 *
 * Requests are routed by shape, the way the SDK sends them:
 * - SageMaker Runtime is restJson1: `POST /endpoints/{EndpointName}/invocations`, the model input as the raw body.
 * - Augmented AI Runtime is restJson1 too: `POST /human-loops` (StartHumanLoop), answered 201 with the loop's ARN.
 * - Secrets Manager and SageMaker are awsJson1_1: `POST /` with `X-Amz-Target: <service>.<Operation>`.
 * - STS and CloudFormation are awsQuery: `POST /` with a form body `Action=<Operation>&Version=...`, answered in XML
 *   (`<OperationResponse><OperationResult>...`, errors as `<ErrorResponse><Error><Code>`).
 * Errors are written in the shape each protocol's deserializer reads, so the SDK throws its named errors.
 * Signatures are not checked (the SDK signs with whatever dummy credentials it is given).
 */
import type * as http from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { LoopbackServer, Sleeper, readBody, sendJson } from './http-util';

export const FAKE_ACCOUNT_ID = '123456789012';
export const FAKE_REGION = 'us-east-1';

export type FakeAwsOperation =
  | 'InvokeEndpoint'
  | 'GetSecretValue'
  | 'CreateSecret'
  | 'DescribeSecret'
  | 'PutSecretValue'
  | 'DescribeTrainingJob'
  | 'DescribeProcessingJob'
  | 'DescribeTransformJob'
  | 'DescribeModelPackage'
  | 'StartHumanLoop'
  | 'PutEvents'
  | 'GetCallerIdentity'
  | 'DescribeStacks';

/** Who the caller is unless setCallerIdentity says otherwise. */
export const FAKE_CALLER_ARN = 'arn:aws:iam::123456789012:user/ledger-operator';

const QUERY_NAMESPACES: Record<string, string> = {
  GetCallerIdentity: 'https://sts.amazonaws.com/doc/2011-06-15/',
  DescribeStacks: 'http://cloudformation.amazonaws.com/doc/2010-05-15/',
};

/** One entry of an EventBridge PutEvents call, as received. */
export interface PutEventsEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly EventBusName?: string;
  readonly Resources?: string[];
}

/** A human loop StartHumanLoop created, as it was asked for. */
export interface HumanLoop {
  readonly name: string;
  readonly flowDefinitionArn: string;
  /** `HumanLoopInput.InputContent`, parsed. */
  readonly input: unknown;
  readonly arn: string;
}

/** What the model container receives. */
export interface EndpointRequest {
  readonly endpointName: string;
  readonly body: string;
  readonly contentType: string | undefined;
  readonly accept: string | undefined;
  readonly targetVariant: string | undefined;
  readonly customAttributes: string | undefined;
}

/** What the model container answers. A status other than 200 becomes a ModelError (424), as in SageMaker. */
export interface EndpointResponse {
  readonly status?: number;
  readonly contentType?: string;
  readonly body: string;
}

export type EndpointHandler = (request: EndpointRequest) => EndpointResponse | Promise<EndpointResponse>;

/** An AWS-level error to answer once, e.g. { status: 400, type: 'ThrottlingException' } or { status: 500, type: 'InternalFailure' }. */
export interface AwsFault {
  readonly status: number;
  readonly type: string;
  readonly message?: string;
}

export interface FakeAwsOptions {
  /** Added before every request is handled. */
  readonly latencyMs?: number;
}

interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  /** Undefined for a secret created without a value (CreateSecret with no SecretString): it has no version yet. */
  readonly secretString: string | undefined;
  readonly versionId: string;
  readonly createdDate: Date;
  readonly tags?: ReadonlyArray<{ readonly Key: string; readonly Value: string }>;
  readonly kmsKeyId?: string;
  readonly description?: string;
}

/** A secret as a test reads it back (CreateSecret's and PutSecretValue's results). */
export interface FakeSecret {
  readonly name: string;
  readonly arn: string;
  readonly secretString: string | undefined;
  readonly tags: ReadonlyArray<{ readonly Key: string; readonly Value: string }>;
  readonly kmsKeyId: string | undefined;
}

/** Thrown inside a route to answer an AWS error in the protocol's shape. */
class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const INVOCATIONS_PATH = /^\/endpoints\/([^/]+)\/invocations$/;
const HUMAN_LOOPS_PATH = '/human-loops';

export class FakeAws {
  static async start(options: FakeAwsOptions = {}): Promise<FakeAws> {
    const fake = new FakeAws(options);
    fake.server = await LoopbackServer.listen((req, res) => {
      fake.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          sendJson(res, 500, { __type: 'InternalFailure', message: `fake-aws bug: ${String(err)}` });
        }
      });
    });
    return fake;
  }

  private server!: LoopbackServer;
  private readonly sleeper = new Sleeper();
  private latencyMs: number;
  private endpointHandlers = new Map<string, EndpointHandler>();
  private secrets: StoredSecret[] = [];
  private trainingJobs = new Map<string, Record<string, unknown>>();
  private modelPackages = new Map<string, Record<string, unknown>>();
  private processingJobs = new Map<string, Record<string, unknown>>();
  private transformJobs = new Map<string, Record<string, unknown>>();
  private callerArn = FAKE_CALLER_ARN;
  private stacks = new Map<string, Record<string, string>>();
  private faults = new Map<FakeAwsOperation, AwsFault[]>();
  private readonly invocationLog: EndpointRequest[] = [];
  private readonly putEventsLog: PutEventsEntry[] = [];
  private readonly loops = new Map<string, HumanLoop>();
  private startHumanLoopCount = 0;
  private readonly operationLog: string[] = [];
  private secretReadCount = 0;

  private constructor(options: FakeAwsOptions) {
    this.latencyMs = options.latencyMs ?? 0;
  }

  /** http://127.0.0.1:PORT: the value for AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, _SECRETS_MANAGER and _SAGEMAKER. */
  get url(): string {
    return this.server.url;
  }

  /** Every request, including malformed ones: the number of round trips the SDK made (retries count). */
  get requestCount(): number {
    return this.operationLog.length;
  }

  /** The operation of every request, in order ('Unknown' for requests that matched nothing). */
  get operations(): readonly string[] {
    return [...this.operationLog];
  }

  /** Every InvokeEndpoint request, in order. */
  get invocations(): readonly EndpointRequest[] {
    return [...this.invocationLog];
  }

  /** GetSecretValue requests received (found or not): shows whether a secret cache works. */
  /** Every entry received by EventBridge PutEvents, in order. */
  get putEvents(): readonly PutEventsEntry[] {
    return this.putEventsLog;
  }

  get secretReads(): number {
    return this.secretReadCount;
  }

  /** The human loops StartHumanLoop created (a refused repeat is not here twice). */
  get humanLoops(): readonly HumanLoop[] {
    return [...this.loops.values()];
  }

  /** StartHumanLoop requests received, refused ones included. */
  get startHumanLoopCalls(): number {
    return this.startHumanLoopCount;
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  setEndpointHandler(endpointName: string, handler: EndpointHandler): void {
    this.endpointHandlers.set(endpointName, handler);
  }

  /**
   * Stores a secret under a name or a full ARN; GetSecretValue finds it by either. Setting it again is a
   * rotation: the value and VersionId change.
   */
  setSecret(secretIdOrArn: string, secretString: string): { name: string; arn: string; versionId: string } {
    const { name, arn } = secretIdOrArn.startsWith('arn:')
      ? { name: secretNameFromArn(secretIdOrArn), arn: secretIdOrArn }
      : { name: secretIdOrArn, arn: secretArn(secretIdOrArn) };
    const secret: StoredSecret = { name, arn, secretString, versionId: randomUUID(), createdDate: new Date() };
    this.secrets = [...this.secrets.filter((s) => s.arn !== arn), secret];
    return { name, arn, versionId: secret.versionId };
  }

  /** Every secret stored (setSecret, CreateSecret), with its value as it is now: what a test checks the handlers wrote. */
  get storedSecrets(): readonly FakeSecret[] {
    return this.secrets.map((s) => ({ name: s.name, arn: s.arn, secretString: s.secretString, tags: s.tags ?? [], kmsKeyId: s.kmsKeyId }));
  }

  /**
   * The DescribeTrainingJob answer for `name`. Date values are sent as epoch seconds, like the real
   * service; TrainingJobName and TrainingJobArn are filled in unless given.
   */
  setTrainingJob(name: string, description: Record<string, unknown>): void {
    this.trainingJobs.set(name, {
      TrainingJobName: name,
      TrainingJobArn: `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:training-job/${name.toLowerCase()}`,
      ...description,
    });
  }

  /**
   * The DescribeModelPackage answer for the package `<group>/<version>` (looked up by its ARN, as the handlers
   * name it); ModelPackageArn, ModelPackageGroupName and ModelPackageVersion are filled in unless given. Its ARN.
   */
  setModelPackage(group: string, version: number, description: Record<string, unknown>): string {
    const arn = `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:model-package/${group.toLowerCase()}/${version}`;
    this.modelPackages.set(arn, { ModelPackageArn: arn, ModelPackageGroupName: group, ModelPackageVersion: version, ...description });
    return arn;
  }

  /** The DescribeProcessingJob answer for `name`; ProcessingJobName and ProcessingJobArn are filled in unless given. */
  setProcessingJob(name: string, description: Record<string, unknown>): void {
    this.processingJobs.set(name, {
      ProcessingJobName: name,
      ProcessingJobArn: `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:processing-job/${name.toLowerCase()}`,
      ...description,
    });
  }

  /** The DescribeTransformJob answer for `name`; TransformJobName and TransformJobArn are filled in unless given. */
  setTransformJob(name: string, description: Record<string, unknown>): void {
    this.transformJobs.set(name, {
      TransformJobName: name,
      TransformJobArn: `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:transform-job/${name.toLowerCase()}`,
      ...description,
    });
  }

  /** The ARN STS GetCallerIdentity answers (the account is taken from it). */
  setCallerIdentity(arn: string): void {
    this.callerArn = arn;
  }

  /** A stack CloudFormation DescribeStacks knows, with its outputs (key → value). */
  setStack(name: string, outputs: Record<string, string>): void {
    this.stacks.set(name, outputs);
  }

  /** Answers the next request of `operation` with this error instead (queued; each consumed once). */
  injectFault(operation: FakeAwsOperation, fault: AwsFault): void {
    this.faults.set(operation, [...(this.faults.get(operation) ?? []), fault]);
  }

  /** Forgets recordings, handlers, secrets, training jobs, faults and latency. */
  reset(): void {
    this.endpointHandlers.clear();
    this.secrets = [];
    this.trainingJobs.clear();
    this.modelPackages.clear();
    this.processingJobs.clear();
    this.transformJobs.clear();
    this.callerArn = FAKE_CALLER_ARN;
    this.stacks.clear();
    this.faults.clear();
    this.invocationLog.length = 0;
    this.putEventsLog.length = 0;
    this.loops.clear();
    this.startHumanLoopCount = 0;
    this.operationLog.length = 0;
    this.secretReadCount = 0;
    this.latencyMs = 0;
  }

  async close(): Promise<void> {
    this.sleeper.cancelAll();
    await this.server.close();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://fake-aws').pathname;
    const target = header(req, 'x-amz-target');
    const invocation = req.method === 'POST' ? INVOCATIONS_PATH.exec(path) : null;

    if (invocation) {
      this.operationLog.push('InvokeEndpoint');
      if (!(await this.sleeper.sleep(this.latencyMs))) return;
      try {
        await this.invokeEndpoint(req, decodeURIComponent(invocation[1]), raw, res);
      } catch (err) {
        sendRestJsonError(res, asAwsError(err));
      }
      return;
    }

    if (req.method === 'POST' && path === HUMAN_LOOPS_PATH) {
      this.operationLog.push('StartHumanLoop');
      if (!(await this.sleeper.sleep(this.latencyMs))) return;
      try {
        const arn = this.startHumanLoop(parseJsonObject(raw));
        sendJson(res, 201, { HumanLoopArn: arn }, { 'x-amzn-RequestId': randomUUID() });
      } catch (err) {
        sendRestJsonError(res, asAwsError(err));
      }
      return;
    }

    if (req.method === 'POST' && path === '/' && !target && header(req, 'content-type')?.startsWith('application/x-www-form-urlencoded')) {
      return this.handleQuery(new URLSearchParams(raw), res);
    }

    const operation = req.method === 'POST' && path === '/' && target ? target : undefined;
    this.operationLog.push(operation?.split('.')[1] ?? 'Unknown');
    if (!(await this.sleeper.sleep(this.latencyMs))) return;
    try {
      if (!operation) throw new AwsError(404, 'UnknownOperationException', `No operation for ${req.method} ${path}`);
      sendJson(res, 200, epochSecondsDates(this.jsonOperation(operation, parseJsonObject(raw))), {
        'Content-Type': 'application/x-amz-json-1.1',
        'x-amzn-RequestId': randomUUID(),
      });
    } catch (err) {
      const error = asAwsError(err);
      // awsJson1_1 errors: the type in the body's __type, the message in `message`.
      sendJson(
        res,
        error.status,
        { __type: error.type, message: error.message, ...error.extra },
        {
          'Content-Type': 'application/x-amz-json-1.1',
          'x-amzn-RequestId': randomUUID(),
        },
      );
    }
  }

  /** awsQuery (STS, CloudFormation): the operation is the form's Action; answers and errors are XML. */
  private async handleQuery(form: URLSearchParams, res: http.ServerResponse): Promise<void> {
    const action = form.get('Action') ?? 'Unknown';
    this.operationLog.push(action);
    if (!(await this.sleeper.sleep(this.latencyMs))) return;
    const namespace = QUERY_NAMESPACES[action] ?? 'https://fake-aws.local/';
    const headers = { 'Content-Type': 'text/xml', 'x-amzn-RequestId': randomUUID() };
    try {
      const result = this.queryOperation(action, form);
      const body =
        `<${action}Response xmlns="${namespace}"><${action}Result>${result}</${action}Result>` +
        `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
      res.writeHead(200, headers);
      res.end(body);
    } catch (err) {
      const error = asAwsError(err);
      res.writeHead(error.status, headers);
      res.end(
        `<ErrorResponse xmlns="${namespace}"><Error><Type>${error.status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
          `<Code>${xml(error.type)}</Code><Message>${xml(error.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
      );
    }
  }

  private queryOperation(action: string, form: URLSearchParams): string {
    switch (action) {
      case 'GetCallerIdentity': {
        this.throwInjectedFault('GetCallerIdentity');
        const account = this.callerArn.split(':')[4] ?? FAKE_ACCOUNT_ID;
        return `<Arn>${xml(this.callerArn)}</Arn><UserId>AIDAFAKEOPERATOR</UserId><Account>${xml(account)}</Account>`;
      }
      case 'DescribeStacks': {
        this.throwInjectedFault('DescribeStacks');
        const name = form.get('StackName') ?? '';
        const outputs = this.stacks.get(name);
        // CloudFormation's own answer for a stack it does not know.
        if (!outputs) throw new AwsError(400, 'ValidationError', `Stack with id ${name} does not exist`);
        const members = Object.entries(outputs)
          .map(([key, value]) => `<member><OutputKey>${xml(key)}</OutputKey><OutputValue>${xml(value)}</OutputValue></member>`)
          .join('');
        const stackId = `arn:aws:cloudformation:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:stack/${name}/${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
        return (
          `<Stacks><member><StackName>${xml(name)}</StackName><StackId>${xml(stackId)}</StackId>` +
          `<CreationTime>2026-01-01T00:00:00.000Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>` +
          `<Outputs>${members}</Outputs></member></Stacks>`
        );
      }
      default:
        throw new AwsError(400, 'InvalidAction', `fake-aws does not implement the query action ${action}`);
    }
  }

  private jsonOperation(target: string, input: Record<string, unknown>): Record<string, unknown> {
    switch (target) {
      case 'secretsmanager.GetSecretValue':
        this.secretReadCount += 1;
        this.throwInjectedFault('GetSecretValue');
        return this.getSecretValue(input);
      case 'secretsmanager.CreateSecret':
        this.throwInjectedFault('CreateSecret');
        return this.createSecret(input);
      case 'secretsmanager.DescribeSecret':
        this.throwInjectedFault('DescribeSecret');
        return this.describeSecret(input);
      case 'secretsmanager.PutSecretValue':
        this.throwInjectedFault('PutSecretValue');
        return this.putSecretValue(input);
      case 'SageMaker.DescribeTrainingJob':
        this.throwInjectedFault('DescribeTrainingJob');
        return this.describeTrainingJob(input);
      case 'SageMaker.DescribeModelPackage': {
        this.throwInjectedFault('DescribeModelPackage');
        const found = typeof input.ModelPackageName === 'string' ? this.modelPackages.get(input.ModelPackageName) : undefined;
        if (!found) throw new AwsError(400, 'ValidationException', 'Model Package does not exist.');
        return found;
      }
      case 'SageMaker.DescribeProcessingJob': {
        this.throwInjectedFault('DescribeProcessingJob');
        const job = typeof input.ProcessingJobName === 'string' ? this.processingJobs.get(input.ProcessingJobName) : undefined;
        if (!job) throw new AwsError(400, 'ValidationException', 'Requested resource not found.');
        return job;
      }
      case 'SageMaker.DescribeTransformJob': {
        this.throwInjectedFault('DescribeTransformJob');
        const job = typeof input.TransformJobName === 'string' ? this.transformJobs.get(input.TransformJobName) : undefined;
        if (!job) throw new AwsError(400, 'ValidationException', 'Requested resource not found.');
        return job;
      }
      case 'AWSEvents.PutEvents': {
        this.throwInjectedFault('PutEvents');
        const entries = Array.isArray(input.Entries) ? (input.Entries as PutEventsEntry[]) : [];
        this.putEventsLog.push(...entries);
        return { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) };
      }
      default:
        throw new AwsError(400, 'UnknownOperationException', `fake-aws does not implement ${target}`);
    }
  }

  /** A2I refuses a second loop of a name it has (409 ConflictException), whatever its input. */
  private startHumanLoop(input: Record<string, unknown>): string {
    this.startHumanLoopCount += 1;
    this.throwInjectedFault('StartHumanLoop');
    const name = input.HumanLoopName;
    const flowDefinitionArn = input.FlowDefinitionArn;
    const content = (input.HumanLoopInput as { InputContent?: unknown } | undefined)?.InputContent;
    if (typeof name !== 'string' || !/^[a-z0-9](-*[a-z0-9])*$/.test(name) || name.length > 63) {
      throw new AwsError(
        400,
        'ValidationException',
        `1 validation error detected: Value '${String(name)}' at 'humanLoopName' failed to satisfy constraint`,
      );
    }
    if (typeof flowDefinitionArn !== 'string' || typeof content !== 'string') {
      throw new AwsError(400, 'ValidationException', 'FlowDefinitionArn and HumanLoopInput.InputContent are required');
    }
    if (this.loops.has(name)) throw new AwsError(409, 'ConflictException', `A human loop with the name ${name} already exists.`);
    const arn = `arn:aws:sagemaker:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:human-loop/${name}`;
    this.loops.set(name, { name, flowDefinitionArn, input: JSON.parse(content) as unknown, arn });
    return arn;
  }

  private findSecret(secretId: unknown): StoredSecret {
    const secret = this.secrets.find((s) => s.arn === secretId || s.name === secretId);
    if (!secret) throw new AwsError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }

  /** A name Secrets Manager has is refused (400 ResourceExistsException); a secret without a value has no version. */
  private createSecret(input: Record<string, unknown>): Record<string, unknown> {
    const name = input.Name;
    if (typeof name !== 'string' || !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(name)) {
      throw new AwsError(400, 'ValidationException', `Invalid name: ${String(name)}`);
    }
    if (this.secrets.some((s) => s.name === name)) {
      throw new AwsError(400, 'ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    }
    const secretString = typeof input.SecretString === 'string' ? input.SecretString : undefined;
    const tags = Array.isArray(input.Tags) ? (input.Tags as Array<{ Key: string; Value: string }>) : [];
    const secret: StoredSecret = {
      name,
      arn: secretArn(name),
      secretString,
      versionId: randomUUID(),
      createdDate: new Date(),
      tags,
      kmsKeyId: typeof input.KmsKeyId === 'string' ? input.KmsKeyId : undefined,
      description: typeof input.Description === 'string' ? input.Description : undefined,
    };
    this.secrets = [...this.secrets, secret];
    return { ARN: secret.arn, Name: name, ...(secretString === undefined ? {} : { VersionId: secret.versionId }) };
  }

  private describeSecret(input: Record<string, unknown>): Record<string, unknown> {
    const secret = this.findSecret(input.SecretId);
    return { ARN: secret.arn, Name: secret.name, Description: secret.description, KmsKeyId: secret.kmsKeyId, Tags: secret.tags ?? [] };
  }

  private putSecretValue(input: Record<string, unknown>): Record<string, unknown> {
    const secret = this.findSecret(input.SecretId);
    if (typeof input.SecretString !== 'string') throw new AwsError(400, 'InvalidParameterException', 'SecretString is required');
    const updated: StoredSecret = { ...secret, secretString: input.SecretString, versionId: randomUUID() };
    this.secrets = this.secrets.map((s) => (s === secret ? updated : s));
    return { ARN: updated.arn, Name: updated.name, VersionId: updated.versionId, VersionStages: ['AWSCURRENT'] };
  }

  private getSecretValue(input: Record<string, unknown>): Record<string, unknown> {
    const secret = this.findSecret(input.SecretId);
    if (secret.secretString === undefined) {
      throw new AwsError(
        400,
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
      );
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      SecretString: secret.secretString,
      VersionId: secret.versionId,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: secret.createdDate,
    };
  }

  private describeTrainingJob(input: Record<string, unknown>): Record<string, unknown> {
    const job = typeof input.TrainingJobName === 'string' ? this.trainingJobs.get(input.TrainingJobName) : undefined;
    // SageMaker answers an unknown job with a ValidationException, not ResourceNotFound.
    if (!job) throw new AwsError(400, 'ValidationException', 'Requested resource not found.');
    return job;
  }

  private async invokeEndpoint(req: http.IncomingMessage, endpointName: string, body: string, res: http.ServerResponse): Promise<void> {
    const request: EndpointRequest = {
      endpointName,
      body,
      contentType: header(req, 'content-type'),
      accept: header(req, 'accept'),
      targetVariant: header(req, 'x-amzn-sagemaker-target-variant'),
      customAttributes: header(req, 'x-amzn-sagemaker-custom-attributes'),
    };
    this.invocationLog.push(request);
    this.throwInjectedFault('InvokeEndpoint');

    const handler = this.endpointHandlers.get(endpointName);
    if (!handler) {
      throw new AwsError(400, 'ValidationError', `Endpoint ${endpointName} of account ${FAKE_ACCOUNT_ID} not found.`);
    }
    let answer: EndpointResponse;
    try {
      answer = await handler(request);
    } catch (err) {
      throw new AwsError(500, 'InternalFailure', `endpoint handler for ${endpointName} threw: ${String(err)}`);
    }
    const variant = request.targetVariant ?? 'AllTraffic';
    const status = answer.status ?? 200;
    if (status !== 200) {
      // SageMaker wraps a container's non-200 answer in a 424 ModelError carrying the original.
      const side = status >= 500 ? 'server' : 'client';
      const logGroup = `/aws/sagemaker/Endpoints/${endpointName}`;
      throw new AwsError(
        424,
        'ModelError',
        `Received ${side} error (${status}) from primary with message "${answer.body}". See ` +
          `https://${FAKE_REGION}.console.aws.amazon.com/cloudwatch/home?region=${FAKE_REGION}#logEventViewer:group=${logGroup} ` +
          `in account ${FAKE_ACCOUNT_ID} for more information.`,
        {
          ErrorCode: `${side.toUpperCase()}_ERROR_FROM_MODEL`,
          OriginalStatusCode: status,
          OriginalMessage: answer.body,
          LogStreamArn: `arn:aws:logs:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:log-group:${logGroup}`,
        },
      );
    }
    const payload = Buffer.from(answer.body, 'utf8');
    res.writeHead(200, {
      'Content-Type': answer.contentType ?? 'application/json',
      'Content-Length': payload.length.toString(),
      'x-Amzn-Invoked-Production-Variant': variant,
      'x-amzn-RequestId': randomUUID(),
    });
    res.end(payload);
  }

  private throwInjectedFault(operation: FakeAwsOperation): void {
    const fault = this.faults.get(operation)?.shift();
    if (fault) throw new AwsError(fault.status, fault.type, fault.message ?? `Injected ${fault.type}`);
  }
}

/**
 * restJson1 errors (SageMaker Runtime): the SDK takes the type from the x-amzn-ErrorType header and cuts
 * it at ':' — real SageMaker appends a namespace URL there — and the message from `message`/`Message`.
 */
function sendRestJsonError(res: http.ServerResponse, error: AwsError): void {
  const body: Record<string, unknown> =
    error.type === 'ModelError' ? { Message: error.message, ...error.extra } : { message: error.message, ...error.extra };
  sendJson(res, error.status, body, {
    'x-amzn-ErrorType': `${error.type}:http://internal.amazon.com/coral/com.amazon.coral.validate/`,
    'x-amzn-RequestId': randomUUID(),
  });
}

function asAwsError(err: unknown): AwsError {
  return err instanceof AwsError ? err : new AwsError(500, 'InternalFailure', `fake-aws bug: ${String(err)}`);
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function parseJsonObject(raw: string): Record<string, unknown> {
  try {
    const value = JSON.parse(raw || '{}') as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AwsError(400, 'SerializationException', 'Request body is not a JSON object');
}

/** awsJson1_1 sends timestamps as epoch seconds (with fractions), which the SDK turns back into Dates. */
function epochSecondsDates(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(epochSecondsDates);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, epochSecondsDates(v)]));
  }
  return value;
}

/** A Secrets Manager ARN: the name plus a 6-character suffix (stable per name, as for one real secret). */
function secretArn(name: string): string {
  const suffix = createHash('sha256').update(name).digest('hex').slice(0, 6);
  return `arn:aws:secretsmanager:${FAKE_REGION}:${FAKE_ACCOUNT_ID}:secret:${name}-${suffix}`;
}

function secretNameFromArn(arn: string): string {
  const resource = arn.split(':secret:')[1] ?? arn;
  return resource.replace(/-[A-Za-z0-9]{6}$/, '');
}

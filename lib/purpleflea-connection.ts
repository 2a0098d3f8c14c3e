import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { LEDGER_ATTENTION_INDEX, LEDGER_MINIMUM_RETENTION_DAYS, LEDGER_PARTITION_KEY, LEDGER_TTL_ATTRIBUTE } from './private/contracts/ledger-schema';
import { PURPLEFLEA_CONNECTION_DEFAULTS } from './private/defaults';
import { grantActionAccess } from './private/ledger-access';
import { AGENT_ID, AGENT_ID_RULE } from './private/patterns';
import { PropsValidator } from './private/validation';

/** Props of a {@link PurpleFleaConnection}. */
export interface PurpleFleaConnectionProps {
  /**
   * The secret holding the Purple Flea API key. Its `SecretString` is either a JSON object (the key under
   * `apiKeyField`, the agent id under `agentIdField`) or the bare key. Its value never appears in the
   * template, the environment or the logs; only its ARN does.
   */
  readonly apiKeySecret: secretsmanager.ISecret;

  /**
   * The field of a JSON `SecretString` that holds the API key.
   * @default 'key'
   */
  readonly apiKeyField?: string;

  /**
   * The field of a JSON `SecretString` that holds the agent id, read when `agentId` is not given.
   * Must differ from `apiKeyField`: the key is never read as the agent id.
   * @default 'agent_id'
   */
  readonly agentIdField?: string;

  /**
   * Your Purple Flea agent id (e.g. `agt_...` or `ag_...`).
   * @default - read from the secret's `agentIdField`
   */
  readonly agentId?: string;

  /**
   * The Purple Flea API. Must be https; plain http is accepted only to a loopback address
   * (127.0.0.0/8, localhost, [::1]), for tests.
   * @default 'https://api.purpleflea.com'
   */
  readonly baseUrl?: string;

  /**
   * An existing table to use as the action ledger, with a string partition key named `pk`.
   * @default - a new table: on-demand, point-in-time recovery, retained when the stack is deleted
   */
  readonly ledgerTable?: dynamodb.ITable;

  /**
   * Let ledger records expire this long after they are written. At least 35 days, longer than every
   * retry and redrive window, so that a late delivery still finds its record and does not pay again.
   * On an existing `ledgerTable`, enable TTL on the `expiresAt` attribute yourself.
   * @default - records never expire
   */
  readonly ledgerRetention?: Duration;

  /**
   * How long one Purple Flea request may take before its outcome counts as UNKNOWN (it may have taken
   * effect, so it is never re-sent). Between 1 and 30 seconds.
   * @default Duration.seconds(10)
   */
  readonly requestTimeout?: Duration;
}

/**
 * How the library's functions reach Purple Flea: the API-key secret, the agent id, the base URL and the
 * action ledger that makes every money-moving call happen exactly once. Share one connection between
 * all the constructs of an app.
 */
export class PurpleFleaConnection extends Construct {
  /** The default Purple Flea API. */
  public static readonly DEFAULT_BASE_URL = PURPLEFLEA_CONNECTION_DEFAULTS.baseUrl;

  /** The secret holding the API key. */
  public readonly apiKeySecret: secretsmanager.ISecret;
  /** The field of a JSON `SecretString` that holds the API key. */
  public readonly apiKeyField: string;
  /** The field of a JSON `SecretString` that holds the agent id. */
  public readonly agentIdField: string;
  /** The agent id, when given as a prop (otherwise it is read from the secret). */
  public readonly agentId?: string;
  /** The Purple Flea API, without a trailing slash. */
  public readonly baseUrl: string;
  /** The action ledger: one record per money-moving action. */
  public readonly ledgerTable: dynamodb.ITable;
  /** How long ledger records are kept, when they expire at all. */
  public readonly ledgerRetention?: Duration;
  /** How long one Purple Flea request may take. */
  public readonly requestTimeout: Duration;

  constructor(scope: Construct, id: string, props: PurpleFleaConnectionProps) {
    super(scope, id);
    validate(id, props);

    this.apiKeySecret = props.apiKeySecret;
    this.apiKeyField = props.apiKeyField ?? PURPLEFLEA_CONNECTION_DEFAULTS.apiKeyField;
    this.agentIdField = props.agentIdField ?? PURPLEFLEA_CONNECTION_DEFAULTS.agentIdField;
    this.agentId = props.agentId;
    this.baseUrl = trimTrailingSlashes(props.baseUrl ?? PURPLEFLEA_CONNECTION_DEFAULTS.baseUrl);
    this.ledgerRetention = props.ledgerRetention;
    this.requestTimeout = props.requestTimeout ?? Duration.seconds(PURPLEFLEA_CONNECTION_DEFAULTS.requestTimeoutSeconds);

    this.ledgerTable = props.ledgerTable ?? newLedgerTable(this, props.ledgerRetention);
  }

  /**
   * Lets a handler take actions through this connection: read the one API-key secret, and read and
   * update single ledger records (GetItem and UpdateItem on the ledger table, the only calls of the money
   * path, nothing else), with the ledger's customer managed key if it has one.
   *
   * The grant covers every record of the ledger. The library's own constructs limit each of their roles
   * to their own kinds of action keys (`dynamodb:LeadingKeys`).
   */
  public grantActionAccess(grantee: iam.IGrantable): iam.Grant {
    return grantActionAccess(this, grantee);
  }
}

function validate(id: string, props: PurpleFleaConnectionProps): void {
  new PropsValidator('PurpleFleaConnection', id)
    .matches('agentId', props.agentId, AGENT_ID, AGENT_ID_RULE)
    .check(
      'baseUrl',
      props.baseUrl,
      isAllowedBaseUrl,
      'must be an https URL without credentials (plain http only to loopback: 127.0.0.0/8, localhost, [::1])',
    )
    .check('apiKeyField', props.apiKeyField, (v: string) => v.length > 0, 'must not be empty')
    .check('agentIdField', props.agentIdField, (v: string) => v.length > 0, 'must not be empty')
    // With the constructor's defaults. Refused even with agentId given: the key must never be readable
    // as the agent id, whatever agentId becomes later.
    .different(
      'agentIdField',
      props.agentIdField ?? PURPLEFLEA_CONNECTION_DEFAULTS.agentIdField,
      'apiKeyField',
      props.apiKeyField ?? PURPLEFLEA_CONNECTION_DEFAULTS.apiKeyField,
      "must not name the API key's field (apiKeyField): the key would be read as the agent id",
    )
    .check(
      'ledgerRetention',
      props.ledgerRetention,
      (v: Duration) => v.toDays({ integral: false }) >= LEDGER_MINIMUM_RETENTION_DAYS,
      `must be at least ${LEDGER_MINIMUM_RETENTION_DAYS} days, longer than every retry and redrive window`,
    )
    .duration('requestTimeout', props.requestTimeout, Duration.seconds(1), Duration.seconds(30))
    .throwIfInvalid();
}

function isAllowedBaseUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  const host = url.hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function trimTrailingSlashes(url: string): string {
  return Token.isUnresolved(url) ? url : url.replace(/\/+$/, '');
}

/**
 * The action ledger: the record of money moved, so it outlives the stack. Its sparse attention index
 * holds only the records an operator may need (UNKNOWN, SENDING), so the operator's command lists them
 * with a Query whose cost follows their number, not the table's size.
 */
function newLedgerTable(scope: Construct, ledgerRetention: Duration | undefined): dynamodb.Table {
  const table = new dynamodb.Table(scope, 'Ledger', {
    partitionKey: { name: LEDGER_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy: RemovalPolicy.RETAIN,
    timeToLiveAttribute: ledgerRetention ? LEDGER_TTL_ATTRIBUTE : undefined,
  });
  table.addGlobalSecondaryIndex({
    indexName: LEDGER_ATTENTION_INDEX.indexName,
    partitionKey: { name: LEDGER_ATTENTION_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: LEDGER_ATTENTION_INDEX.sortKey, type: dynamodb.AttributeType.NUMBER },
    projectionType: dynamodb.ProjectionType.INCLUDE,
    nonKeyAttributes: [...LEDGER_ATTENTION_INDEX.projected],
  });
  return table;
}

import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  LEDGER_ATTENTION_INDEX,
  LEDGER_MINIMUM_RETENTION_DAYS,
  LEDGER_PARTITION_KEY,
  LEDGER_TTL_ATTRIBUTE,
} from './private/contracts/ledger-schema';
import { PURPLEFLEA_CONNECTION_DEFAULTS } from './private/defaults';
import { grantActionAccess } from './private/ledger-access';
import { AGENT_ID, AGENT_ID_RULE } from './private/patterns';
import { API_URL_RULE, isAllowedApiUrl } from './private/urls';
import { API_KIND, isApi, isSecret, SECRET_KIND } from './private/prop-kinds';
import { givenProps, PropsValidator } from './private/validation';
import { PurpleFleaApi, PurpleFleaApiProfile } from './purpleflea-api';
import { secretRegionProblem } from './private/regions';

/** Props of a {@link PurpleFleaConnection}. */
export interface PurpleFleaConnectionProps {
  /**
   * The secret holding the Purple Flea API key. Its `SecretString` is either a JSON object (the key under
   * `apiKeyField`, the agent id under `agentIdField`) or the bare key. Its value never appears in the
   * template, the environment or the logs; only its ARN does. On the services profile it holds the casino
   * key (escrow, pay, faucet), and the trading key too unless `tradingKeySecret` is given.
   */
  readonly apiKeySecret: secretsmanager.ISecret;

  /**
   * Which Purple Flea API the functions speak, and where it is: the gateway (`PurpleFleaApi.gateway()`) or
   * Purple Flea's published services (`PurpleFleaApi.services()`). Cannot be given with `baseUrl`, which is
   * the gateway's: give `PurpleFleaApi.gateway({ baseUrl })` instead.
   * @default PurpleFleaApi.gateway()
   */
  readonly api?: PurpleFleaApi;

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
   * The gateway's base URL. Must be https; plain http is accepted only to a loopback address
   * (127.0.0.0/8, localhost, [::1]), for tests. Cannot be given with `api`.
   * @default 'https://api.purpleflea.com'
   */
  readonly baseUrl?: string;

  /**
   * The services profile only: a second secret holding the trading key (the trading service has its own
   * registry, keys and agent ids), as a JSON object with the key under `tradingKeyField` and the trading agent
   * id under `tradingAgentIdField`. Only the functions that trade (`PredictToTrade`) may read it. Its value
   * never appears in the template, the environment or the logs; only its ARN does.
   * @default - the trading key and agent id are in `apiKeySecret`, beside the casino key
   */
  readonly tradingKeySecret?: secretsmanager.ISecret;

  /**
   * The services profile only: the field of the trading key's JSON `SecretString` (in `tradingKeySecret`, or
   * else in `apiKeySecret`) that holds the trading key. In `apiKeySecret`, it must differ from `apiKeyField`.
   * @default 'trading_key'
   */
  readonly tradingKeyField?: string;

  /**
   * The services profile only: the field that holds the trading agent id (an `ag_` id of the trading
   * registry), beside the trading key. Must differ from `tradingKeyField` and, in `apiKeySecret`, from
   * `apiKeyField`: a key is never read as an agent id.
   * @default 'trading_agent_id'
   */
  readonly tradingAgentIdField?: string;

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
 * How the library's functions reach Purple Flea: the API (the gateway, by default, or the published
 * services), the API-key secret, the agent id and the action ledger that makes every money-moving call
 * happen exactly once. Share one connection between all the constructs of an app.
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
  /** Which Purple Flea API the functions speak, and where it is. */
  public readonly api: PurpleFleaApi;
  /** The gateway's base URL, without a trailing slash (the gateway profile only; see `api`). */
  public readonly baseUrl?: string;
  /** The services profile's second secret holding the trading key, when given. */
  public readonly tradingKeySecret?: secretsmanager.ISecret;
  /** The field holding the trading key (the services profile only). */
  public readonly tradingKeyField?: string;
  /** The field holding the trading agent id (the services profile only). */
  public readonly tradingAgentIdField?: string;
  /** The action ledger: one record per money-moving action. */
  public readonly ledgerTable: dynamodb.ITable;
  /** How long ledger records are kept, when they expire at all. */
  public readonly ledgerRetention?: Duration;
  /** How long one Purple Flea request may take. */
  public readonly requestTimeout: Duration;

  constructor(scope: Construct, id: string, props: PurpleFleaConnectionProps) {
    super(scope, id);
    validate(id, props);
    // Known only with the stack: the handlers read each secret in their own region.
    const regions = new PropsValidator('PurpleFleaConnection', id);
    for (const [prop, secret] of [
      ['apiKeySecret', props.apiKeySecret],
      ['tradingKeySecret', props.tradingKeySecret],
    ] as const) {
      const problem = secret === undefined ? undefined : secretRegionProblem(this, prop, secret);
      if (problem !== undefined) regions.fail(problem);
    }
    regions.throwIfInvalid();

    this.apiKeySecret = props.apiKeySecret;
    this.apiKeyField = props.apiKeyField ?? PURPLEFLEA_CONNECTION_DEFAULTS.apiKeyField;
    this.agentIdField = props.agentIdField ?? PURPLEFLEA_CONNECTION_DEFAULTS.agentIdField;
    this.agentId = props.agentId;
    // The gateway at baseUrl, unless another API is given (validate() refuses both).
    this.api = props.api ?? PurpleFleaApi[PURPLEFLEA_CONNECTION_DEFAULTS.api]({ baseUrl: props.baseUrl });
    this.baseUrl = this.api.baseUrl;
    if (this.api.profile === PurpleFleaApiProfile.SERVICES) {
      this.tradingKeySecret = props.tradingKeySecret;
      this.tradingKeyField = props.tradingKeyField ?? PURPLEFLEA_CONNECTION_DEFAULTS.tradingKeyField;
      this.tradingAgentIdField = props.tradingAgentIdField ?? PURPLEFLEA_CONNECTION_DEFAULTS.tradingAgentIdField;
    }
    this.ledgerRetention = props.ledgerRetention;
    this.requestTimeout = props.requestTimeout ?? Duration.seconds(PURPLEFLEA_CONNECTION_DEFAULTS.requestTimeoutSeconds);

    this.ledgerTable = props.ledgerTable ?? newLedgerTable(this, props.ledgerRetention);
  }

  /**
   * Lets a handler take actions through this connection: read the API-key secret (and `tradingKeySecret`,
   * when given), and read and update single ledger records (GetItem and UpdateItem on the ledger table, the
   * only calls of the money path, nothing else), with the ledger's customer managed key if it has one.
   *
   * The grant covers every record of the ledger. The library's own constructs limit each of their roles
   * to their own kinds of action keys (`dynamodb:LeadingKeys`).
   */
  public grantActionAccess(grantee: iam.IGrantable): iam.Grant {
    return grantActionAccess(this, grantee);
  }
}

function validate(id: string, given: PurpleFleaConnectionProps | undefined): void {
  const props = givenProps(given);
  const v = new PropsValidator('PurpleFleaConnection', id)
    .required('apiKeySecret', props.apiKeySecret)
    .instance('apiKeySecret', props.apiKeySecret, isSecret, SECRET_KIND)
    .instance('tradingKeySecret', props.tradingKeySecret, isSecret, SECRET_KIND)
    .instance('api', props.api, isApi, API_KIND)
    .matches('agentId', props.agentId, AGENT_ID, AGENT_ID_RULE)
    .string('baseUrl', props.baseUrl, isAllowedApiUrl, API_URL_RULE)
    .notBoth('baseUrl', props.baseUrl, 'api', props.api, "baseUrl is the gateway's: give api: PurpleFleaApi.gateway({ baseUrl }) instead")
    .string('apiKeyField', props.apiKeyField, (v: string) => v.length > 0, 'must not be empty')
    .string('agentIdField', props.agentIdField, (v: string) => v.length > 0, 'must not be empty')
    // With the constructor's defaults. Refused even with agentId given: the key must never be readable
    // as the agent id, whatever agentId becomes later.
    .different(
      'agentIdField',
      props.agentIdField ?? PURPLEFLEA_CONNECTION_DEFAULTS.agentIdField,
      'apiKeyField',
      props.apiKeyField ?? PURPLEFLEA_CONNECTION_DEFAULTS.apiKeyField,
      "must not name the API key's field (apiKeyField): the key would be read as the agent id",
    );
  if (v.isDuration('ledgerRetention', props.ledgerRetention)) {
    v.check(
      'ledgerRetention',
      props.ledgerRetention,
      (d: Duration) => d.toDays({ integral: false }) >= LEDGER_MINIMUM_RETENTION_DAYS,
      `must be at least ${LEDGER_MINIMUM_RETENTION_DAYS} days, longer than every retry and redrive window`,
    );
  }
  v.duration('requestTimeout', props.requestTimeout, Duration.seconds(1), Duration.seconds(30));
  checkTradingKey(v, props);
  v.throwIfInvalid();
}

/**
 * The trading key's props: the services profile's only. Its fields, like the casino key's, never let a key be
 * read as an agent id: within the trading pair, and across the pairs when both are in one secret.
 */
function checkTradingKey(v: PropsValidator, props: PurpleFleaConnectionProps): void {
  if (props.api?.profile !== PurpleFleaApiProfile.SERVICES) {
    const why = 'the trading key is used by the services profile only (api: PurpleFleaApi.services())';
    v.notAllowed('tradingKeySecret', props.tradingKeySecret, why);
    v.notAllowed('tradingKeyField', props.tradingKeyField, why);
    v.notAllowed('tradingAgentIdField', props.tradingAgentIdField, why);
    return;
  }
  const apiKeyField = props.apiKeyField ?? PURPLEFLEA_CONNECTION_DEFAULTS.apiKeyField;
  const agentIdField = props.agentIdField ?? PURPLEFLEA_CONNECTION_DEFAULTS.agentIdField;
  const tradingKeyField = props.tradingKeyField ?? PURPLEFLEA_CONNECTION_DEFAULTS.tradingKeyField;
  const tradingAgentIdField = props.tradingAgentIdField ?? PURPLEFLEA_CONNECTION_DEFAULTS.tradingAgentIdField;
  v.string('tradingKeyField', props.tradingKeyField, (f: string) => f.length > 0, 'must not be empty');
  v.string('tradingAgentIdField', props.tradingAgentIdField, (f: string) => f.length > 0, 'must not be empty');
  v.different(
    'tradingAgentIdField',
    tradingAgentIdField,
    'tradingKeyField',
    tradingKeyField,
    "must not name the trading key's field (tradingKeyField): the trading key would be read as the trading agent id",
  );
  // Both pairs in one JSON object: no field may hold one pair's key and the other's agent id, or both keys.
  if (props.tradingKeySecret === undefined || props.tradingKeySecret === props.apiKeySecret) {
    const inOneSecret = 'while the trading key is in apiKeySecret';
    v.different(
      'tradingAgentIdField',
      tradingAgentIdField,
      'apiKeyField',
      apiKeyField,
      `must not name the API key's field (apiKeyField) ${inOneSecret}: the casino key would be read as the trading agent id`,
    );
    v.different(
      'agentIdField',
      agentIdField,
      'tradingKeyField',
      tradingKeyField,
      `must not name the trading key's field (tradingKeyField) ${inOneSecret}: the trading key would be read as the agent id`,
    );
    v.different(
      'tradingKeyField',
      tradingKeyField,
      'apiKeyField',
      apiKeyField,
      `must not name the API key's field (apiKeyField) ${inOneSecret}: the casino key would be sent to the trading service, which has keys of its own`,
    );
  }
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

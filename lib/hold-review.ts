import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DecisionRuleName, HOLD_REVIEW_DEFAULTS, ReviewSourceName } from './private/contracts/hold-review-env';
import { isToken, PropsValidator } from './private/validation';

/** How the answers of a human loop's reviewers are combined into one decision. */
export enum ReviewDecisionRule {
  /** Fraud if any reviewer answered fraud; the hold is released only when every reviewer answered clear. */
  ANY_FRAUD = 'ANY_FRAUD',
  /** Clear if more reviewers answered clear than fraud; a tie is fraud. */
  MAJORITY = 'MAJORITY',
}

/** What a review that confirms fraud does to a {@link FraudHoldEscrow}'s hold. */
export enum ConfirmedFraudAction {
  /**
   * Nothing is sent: the hold stays until the escrow's timeout (services profile), which refunds its creator (the
   * connection's agent) less the 1 % commission. The gateway's escrow has no timeout: the funds stay held.
   */
  KEEP_HOLD = 'KEEP_HOLD',
  /**
   * The escrow is disputed once (`POST /escrow/dispute/{id}` with the review's reason, ledger key
   * `v1:dispute:<escrow id>`): its funds stay locked until Purple Flea resolves it, and its timeout no longer refunds it.
   */
  DISPUTE = 'DISPUTE',
}

/** A review in Amazon Augmented AI (A2I): a human loop per hold, on a flow definition the user created. */
export interface AugmentedAiReviewOptions {
  /** The flow definition's ARN (a token is accepted, e.g. a `CfnFlowDefinition`'s `attrFlowDefinitionArn`). */
  readonly flowDefinition: string;
  /**
   * The bucket the flow definition writes its loops' output to (its `OutputConfig.S3OutputPath`): the release
   * function may read `output.json` from it only (under `humanLoopOutputPrefix`), and reads no loop output elsewhere.
   */
  readonly humanLoopOutputBucket: s3.IBucket;
  /**
   * The key prefix of the flow definition's output path in `humanLoopOutputBucket`, without leading or trailing
   * slash (e.g. `a2i-output`).
   * @default - the whole bucket
   */
  readonly humanLoopOutputPrefix?: string;
  /**
   * The field of each reviewer's `answerContent` that holds the decision (dotted for nested); its value is a string,
   * or an object with a `label` (a crowd-classifier's answer).
   * @default 'decision'
   */
  readonly answerField?: string;
  /**
   * The answer that says the transaction is fraud.
   * @default 'fraud'
   */
  readonly fraudValue?: string;
  /**
   * The answer that clears the transaction.
   * @default 'clear'
   */
  readonly clearValue?: string;
  /**
   * How the reviewers' answers combine. An answer that is neither value decides nothing (the completion is INVALID).
   * @default ReviewDecisionRule.ANY_FRAUD
   */
  readonly decisionRule?: ReviewDecisionRule;
}

/** A review in the user's own tool, which puts `Purple Flea Hold Review Completed` events on a bus. */
export interface EventsReviewOptions {
  /**
   * The bus the review tool puts its events on (source `purpleflea.review`, detail
   * `{ transactionId, decision: 'clear' | 'fraud', reviewer, reason }`).
   * @default - the account's default bus
   */
  readonly eventBus?: events.IEventBus;
}

/**
 * How a {@link FraudHoldEscrow}'s holds are reviewed: a review that clears a hold releases it to the seller once
 * (`v1:release:<escrow id>`); one that confirms fraud keeps it, or disputes it (`onConfirmedFraud`).
 *
 * @example
 * HoldReview.augmentedAi({ flowDefinition: 'arn:aws:sagemaker:us-east-1:111122223333:flow-definition/holds', humanLoopOutputBucket: bucket })
 */
export class HoldReview {
  /**
   * Each hold a run places starts an Amazon A2I human loop (after the run, from its holds log; the loop is named from
   * the hold's action key, so a repeated start is the same loop). A loop that completes is read from its
   * `output.json`; `Failed` or `Stopped` loops alarm and release nothing.
   */
  public static augmentedAi(options: AugmentedAiReviewOptions): HoldReview {
    const given = options ?? ({} as AugmentedAiReviewOptions);
    const v = new PropsValidator('HoldReview.augmentedAi()');
    v.required('flowDefinition', given.flowDefinition)
      .matches(
        'flowDefinition',
        given.flowDefinition,
        /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:flow-definition\/[a-z0-9](-*[a-z0-9]){0,62}$/,
        'must be a flow definition ARN (arn:aws:sagemaker:<region>:<account>:flow-definition/<name>)',
      )
      .required('humanLoopOutputBucket', given.humanLoopOutputBucket)
      .string(
        'humanLoopOutputPrefix',
        given.humanLoopOutputPrefix,
        (p) => p !== '' && !p.startsWith('/') && !p.endsWith('/'),
        'must be a key prefix without leading or trailing "/" (leave it out for the whole bucket)',
      )
      .string('answerField', given.answerField, (f) => /^[^.\s]+(\.[^.\s]+)*$/.test(f), 'must be a field name, dotted for nested fields')
      .string('fraudValue', given.fraudValue, (f) => f.trim() !== '', 'must not be empty')
      .string('clearValue', given.clearValue, (f) => f.trim() !== '', 'must not be empty');
    const fraudValue = given.fraudValue ?? HOLD_REVIEW_DEFAULTS.fraudValue;
    const clearValue = given.clearValue ?? HOLD_REVIEW_DEFAULTS.clearValue;
    if (!isToken(fraudValue) && !isToken(clearValue) && fraudValue === clearValue) {
      v.fail(`fraudValue and clearValue must differ (both ${JSON.stringify(fraudValue)})`);
    }
    v.throwIfInvalid();
    return new HoldReview('augmented-ai', {
      flowDefinitionArn: given.flowDefinition,
      humanLoopOutputBucket: given.humanLoopOutputBucket,
      humanLoopOutputPrefix: given.humanLoopOutputPrefix ?? '',
      answerField: given.answerField ?? HOLD_REVIEW_DEFAULTS.answerField,
      fraudValue,
      clearValue,
      decisionRule: given.decisionRule === ReviewDecisionRule.MAJORITY ? 'majority' : HOLD_REVIEW_DEFAULTS.decisionRule,
    });
  }

  /** The user's review tool decides: its `Purple Flea Hold Review Completed` events release or confirm fraud. */
  public static events(options: EventsReviewOptions = {}): HoldReview {
    return new HoldReview('events', { eventBus: options?.eventBus });
  }

  /** `augmented-ai` or `events`. */
  public readonly source: string;
  /** The flow definition (Augmented AI). */
  public readonly flowDefinitionArn?: string;
  /** Where the loops' output is read (Augmented AI). */
  public readonly humanLoopOutputBucket?: s3.IBucket;
  /** The key prefix of the loops' output (Augmented AI; empty for the whole bucket). */
  public readonly humanLoopOutputPrefix?: string;
  /** The answer field (Augmented AI). */
  public readonly answerField?: string;
  /** The fraud answer (Augmented AI). */
  public readonly fraudValue?: string;
  /** The clear answer (Augmented AI). */
  public readonly clearValue?: string;
  /** `any-fraud` or `majority` (Augmented AI). */
  public readonly decisionRule?: string;
  /** The bus of the review events (events; the default bus when undefined). */
  public readonly eventBus?: events.IEventBus;

  private constructor(
    source: ReviewSourceName,
    settings: {
      flowDefinitionArn?: string;
      humanLoopOutputBucket?: s3.IBucket;
      humanLoopOutputPrefix?: string;
      answerField?: string;
      fraudValue?: string;
      clearValue?: string;
      decisionRule?: DecisionRuleName;
      eventBus?: events.IEventBus;
    },
  ) {
    this.source = source;
    this.flowDefinitionArn = settings.flowDefinitionArn;
    this.humanLoopOutputBucket = settings.humanLoopOutputBucket;
    this.humanLoopOutputPrefix = settings.humanLoopOutputPrefix;
    this.answerField = settings.answerField;
    this.fraudValue = settings.fraudValue;
    this.clearValue = settings.clearValue;
    this.decisionRule = settings.decisionRule;
    this.eventBus = settings.eventBus;
  }
}

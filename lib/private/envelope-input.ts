import { Lazy, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';

/** EventBridge's reserved input-transformer variable holding the ARN of the rule that matched. */
const RULE_ARN_VARIABLE = '<aws.events.rule-arn>';

/**
 * The PredictToTrade envelope `{eventId, eventTime, ruleArn, features}` as the rule target's input.
 *
 * `RuleTargetInput.fromObject` writes event paths unquoted (`"eventId":<id>`): in a JSON template
 * EventBridge substitutes a string with its quotes and an object as JSON. It cannot know the reserved
 * `<aws.events.rule-arn>` is a variable, though, and would quote it; this input unquotes it the same way.
 *
 * @param features a static JSON map (a schedule), or a JSON path into the matched event (a pattern)
 */
export function tradeEnvelopeInput(features: {
  readonly staticFeatures?: { [key: string]: any };
  readonly featuresPath?: string;
}): events.RuleTargetInput {
  return new ReservedVariableInput(
    events.RuleTargetInput.fromObject({
      eventId: events.EventField.eventId,
      eventTime: events.EventField.time,
      ruleArn: RULE_ARN_VARIABLE,
      features: features.featuresPath !== undefined ? events.EventField.fromPath(features.featuresPath) : (features.staticFeatures ?? {}),
    }),
  );
}

class ReservedVariableInput extends events.RuleTargetInput {
  constructor(private readonly inner: events.RuleTargetInput) {
    super();
  }

  public bind(rule: events.IRule): events.RuleTargetInputProperties {
    const bound = this.inner.bind(rule);
    const template = bound.inputTemplate;
    if (template === undefined) return bound;
    return {
      ...bound,
      inputTemplate: Lazy.uncachedString({
        produce: (context) => Token.asString(unquoteRuleArn(context.resolve(template))),
      }),
    };
  }
}

/** Walks a resolved template (a string, or an Fn::Join when static features hold tokens). */
function unquoteRuleArn(resolved: any): any {
  if (typeof resolved === 'string') return resolved.split(JSON.stringify(RULE_ARN_VARIABLE)).join(RULE_ARN_VARIABLE);
  if (Array.isArray(resolved)) return resolved.map(unquoteRuleArn);
  if (resolved !== null && typeof resolved === 'object') {
    return Object.fromEntries(Object.entries(resolved).map(([key, value]) => [key, unquoteRuleArn(value)]));
  }
  return resolved;
}

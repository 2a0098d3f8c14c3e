/**
 * PredictToTrade on the user's own bus (issue 16, item 1): a pattern for events put on a custom bus must sit on that
 * bus, or it never fires.
 */
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { PredictToTrade } from '../../lib';
import { logicalIdOf, newConnection, newStack, rules } from './fixtures';

const pattern = { source: ['my.signals'], detailType: ['Features Ready'] };

test('an eventPattern with eventBus: the rule is on that bus', () => {
  const stack = newStack();
  const bus = new events.EventBus(stack, 'Signals');
  new PredictToTrade(stack, 'Trader', { connection: newConnection(stack), endpointName: 'm', eventPattern: pattern, eventBus: bus });
  const [rule] = rules(Template.fromStack(stack));
  expect(rule.EventBusName).toEqual({ Ref: logicalIdOf(bus) });
  expect(rule.EventPattern).toEqual({ 'source': ['my.signals'], 'detail-type': ['Features Ready'] });
});

test('an imported bus, by name: the rule names it', () => {
  const stack = newStack();
  const bus = events.EventBus.fromEventBusName(stack, 'Signals', 'model-signals');
  new PredictToTrade(stack, 'Trader', { connection: newConnection(stack), endpointName: 'm', eventPattern: pattern, eventBus: bus });
  expect(rules(Template.fromStack(stack))[0].EventBusName).toBe('model-signals');
});

test('without eventBus the rule is on the default bus, as before', () => {
  const stack = newStack();
  new PredictToTrade(stack, 'Trader', { connection: newConnection(stack), endpointName: 'm', eventPattern: pattern });
  expect(rules(Template.fromStack(stack))[0].EventBusName).toBeUndefined();
});

test('eventBus on a schedule is refused (a schedule runs on the default bus); a bus that is not a bus is named', () => {
  const stack = newStack();
  const connection = newConnection(stack);
  const bus = new events.EventBus(stack, 'Signals');
  expect(() => new PredictToTrade(stack, 'Scheduled', { connection, endpointName: 'm', eventBus: bus })).toThrow(
    "PredictToTrade 'Scheduled': eventBus cannot be set: it applies only to an eventPattern (a schedule runs on the default bus)",
  );
  expect(
    () => new PredictToTrade(stack, 'Bad', { connection, endpointName: 'm', eventPattern: pattern, eventBus: 'signals' as any }),
  ).toThrow(/eventBus must be an EventBridge bus/);
});

/**
 * purpleflea-ledger: the operator's view of the action ledger. Lists actions, shows one with its
 * history, resolves an UNKNOWN one (cli/src/ledger-operator.ts does the ledger work), and releases the
 * escrow of a hold or a bonus escrow by hand, once, through the money path (cli/src/escrow-release.ts).
 * Runs with the caller's AWS credentials and region, from the SDK's default chain.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CheckArguments } from './arguments';
import { credentialsProblem, regionProblem } from './aws-setup';
import { checkLostAnswer, CheckError, CheckResult, keyFromSecret } from './lost-answer-check';
import { ActionLedger } from '../../lambda/shared/action-ledger';
import { releaseByHand } from './escrow-release';
import { LedgerOperator, LedgerTableNotFoundError } from './ledger-operator';
import { Invocation, parseInvocation, USAGE, UsageError } from './arguments';
import { formatActionTable, formatCheck, formatRecord, formatRelease, formatResolution, printable, printableLines, toJson } from './format';

const PROGRAM = 'purpleflea-ledger';

/** The package's version, written into the bundle by scripts/build-cli.mjs (esbuild's `define`). */
declare const PACKAGE_VERSION: string;

/** A problem the operator can act on, reported as one line (exit code 1). */
class OperatorError extends Error {
  override readonly name = 'OperatorError';
}

async function main(argv: readonly string[]): Promise<void> {
  // The SDK inside this bundle is fixed at build time: its warning that future SDK releases need a newer Node does not apply.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const invocation = parseInvocation(argv);
  if (invocation.command.name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (invocation.command.name === 'version') {
    process.stdout.write(`${PROGRAM} ${PACKAGE_VERSION}\n`);
    return;
  }
  const dynamo = new DynamoDBClient({ region: invocation.region });
  const region = await regionOf(dynamo);
  const tableName = await ledgerTableName(invocation, region);
  const operator = new LedgerOperator({ tableName, client: dynamo });
  const command = invocation.command;
  try {
    switch (command.name) {
      case 'list': {
        const { actions, read, itemsRead } = await operator.listWithPlan({
          states: command.states,
          kind: command.kind,
          since: command.since,
          scan: command.scan,
        });
        // The text names how the list was read (its cost); the JSON is the actions alone.
        write(invocation.json ? `${toJson(actions)}\n` : text(formatActionTable(actions, { read, itemsRead })));
        return;
      }
      case 'show': {
        const record = await operator.show(command.actionKey);
        if (command.check !== undefined) {
          const check = await lostAnswerCheck(record, command.check, invocation.region);
          write(invocation.json ? `${toJson({ record, check })}\n` : text(formatRecord(record, Date.now()) + formatCheck(check)));
          return;
        }
        write(invocation.json ? `${toJson(record)}\n` : text(formatRecord(record, Date.now())));
        return;
      }
      case 'resolve': {
        const by = await callerArn(invocation.region);
        const result = await operator.resolve(command.actionKey, {
          as: command.as,
          reason: command.reason,
          reference: command.reference,
          by,
        });
        write(invocation.json ? `${toJson(result)}\n` : text(formatResolution(result)));
        return;
      }
      case 'release': {
        const by = await callerArn(invocation.region);
        const secrets = new SecretsManagerClient({ region: invocation.region });
        try {
          const result = await releaseByHand(
            { creationKey: command.actionKey, reason: command.reason, by, purpleFlea: command.purpleFlea },
            { tableName, operator, ledger: new ActionLedger({ tableName, client: dynamo }), secrets },
          );
          write(invocation.json ? `${toJson(result)}\n` : text(formatRelease(result)));
          // Released (now, before, or by an earlier run) is done; anything else needs the operator again.
          if (result.status !== 'SUCCEEDED') process.exitCode = 1;
        } finally {
          secrets.destroy();
        }
        return;
      }
    }
  } catch (error) {
    if (error instanceof LedgerTableNotFoundError) throw new OperatorError(`ledger table '${tableName}' not found in region ${region}`);
    throw error;
  } finally {
    dynamo.destroy();
  }
}

/** `--table`, or the named output of `--stack`. */
async function ledgerTableName(invocation: Invocation, region: string): Promise<string> {
  if (invocation.table !== undefined) return invocation.table;
  // parseInvocation made sure one of the two is given.
  const stack = invocation.stack!;
  const cloudFormation = new CloudFormationClient({ region: invocation.region });
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stack }));
    const outputs = Stacks?.[0]?.Outputs ?? [];
    const output = outputs.find((candidate) => candidate.OutputKey === invocation.outputKey);
    if (!output?.OutputValue) {
      const present = outputs.map((candidate) => candidate.OutputKey).join(', ') || 'none';
      throw new OperatorError(
        `stack '${stack}' in region ${region} has no output '${invocation.outputKey}' (its outputs: ${present}); give --output-key or --table`,
      );
    }
    return output.OutputValue;
  } catch (error) {
    // CloudFormation answers a missing stack with a ValidationError "Stack with id X does not exist".
    if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message)) {
      throw new OperatorError(`stack '${stack}' not found in region ${region}`);
    }
    throw error;
  } finally {
    cloudFormation.destroy();
  }
}

/** `show --check`: the services' read routes, with the keys of the connection's secret (read only when a kind needs it). */
async function lostAnswerCheck(
  record: Parameters<typeof checkLostAnswer>[0],
  check: CheckArguments,
  region: string | undefined,
): Promise<CheckResult> {
  const secrets = new SecretsManagerClient({ region });
  const keyOf = async (secretId: string, field: string) => {
    let secretString: string | undefined;
    try {
      ({ SecretString: secretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretId })));
    } catch (error) {
      throw new OperatorError(`could not read secret '${secretId}': ${(error as Error).name}`);
    }
    return keyFromSecret(secretString, secretId, field);
  };
  try {
    return await checkLostAnswer(record, {
      escrowUrl: check.escrowUrl,
      casinoUrl: check.casinoUrl,
      tradingUrl: check.tradingUrl,
      casinoKey: () => keyOf(check.secret, check.keyField),
      tradingKey: () => keyOf(check.tradingSecret ?? check.secret, check.tradingKeyField),
    });
  } catch (error) {
    if (error instanceof CheckError) throw new OperatorError(error.message);
    throw error;
  } finally {
    secrets.destroy();
  }
}

/** Who resolves: kept on the record with every resolution. */
async function callerArn(region: string | undefined): Promise<string> {
  const sts = new STSClient({ region });
  try {
    const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
    if (!Arn) throw new OperatorError('STS GetCallerIdentity gave no ARN: cannot record who resolves');
    return Arn;
  } finally {
    sts.destroy();
  }
}

async function regionOf(client: DynamoDBClient): Promise<string> {
  try {
    return await client.config.region();
  } catch {
    throw new UsageError(regionProblem(process.env));
  }
}

function write(text: string): void {
  process.stdout.write(text);
}

/**
 * A text output, checked once more as a whole: the formatters escape every value they print, and
 * nothing non-printable but the line breaks they lay out reaches the terminal. (`--json` is printed as
 * JSON.stringify writes it.)
 */
function text(output: string): string {
  return printableLines(output);
}

main(process.argv.slice(2)).then(
  () => undefined,
  (error: unknown) => {
    const { name, message } = error as Error;
    const known =
      error instanceof UsageError || error instanceof OperatorError || /^(ActionNotFound|NotResolvable|ReleaseRefused)Error$/.test(name);
    // One line that names the problem; SDK errors keep their name (e.g. ExpiredTokenException), but missing
    // credentials say what to set. The message may quote a record (an action key, who resolved it):
    // non-printable characters are escaped.
    const line = credentialsProblem(error, process.env) ?? (known ? message : `${name}: ${message}`);
    process.stderr.write(printable(`${PROGRAM}: ${line}`.trim()) + '\n');
    // With no command at all, the operator needs the list of them.
    if (error instanceof UsageError && error.withUsage) process.stderr.write(`\n${USAGE}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);

/**
 * An asynchronous operation: invoke the worker with InvocationType Event and answer at once.
 *
 * Lambda answers an Event invocation with null, so the acknowledgement is built here: a
 * requestId made in the request handler (passed to the worker and kept in the stash), the
 * status ACCEPTED, and the caller's streamId, if any, to subscribe to with onChunk.
 *
 * The arguments are checked against RULES first, so a request the worker would refuse is a
 * GraphQL error now instead of a failure record later. The component writes each operation's
 * rules into RULES ({argument: {minLength, maxLength, pattern, minimum, maximum}}).
 */
import { util } from '@aws-appsync/utils';

const RULES = {};

export function request(ctx) {
    checkArguments(ctx.args);
    const requestId = util.autoId();
    ctx.stash.requestId = requestId;
    return {
        operation: 'Invoke',
        invocationType: 'Event',
        payload: { ...ctx.args, requestId },
    };
}

export function response(ctx) {
    if (ctx.error) {
        util.error(ctx.error.message, ctx.error.type);
    }
    return {
        requestId: ctx.stash.requestId,
        status: 'ACCEPTED',
        streamId: ctx.args.streamId ?? null,
    };
}

/** Raise ArgumentValidationError for the first argument that breaks its rule. */
function checkArguments(args) {
    for (const name of Object.keys(RULES)) {
        const problem = breach(RULES[name], args[name]);
        if (problem) {
            const message = `ArgumentValidationError: ${name} ${problem}`;
            util.error(message, 'ArgumentValidationError');
        }
    }
}

/** What is wrong with a value under a rule, or '' (absent optional arguments are fine). */
function breach(rule, value) {
    if (value === undefined || value === null) {
        return '';
    }
    if (typeof value === 'string') {
        if (rule.minLength !== undefined && value.length < rule.minLength) {
            return `must be at least ${rule.minLength} characters`;
        }
        if (rule.maxLength !== undefined && value.length > rule.maxLength) {
            return `must be at most ${rule.maxLength} characters (got ${value.length})`;
        }
        if (rule.pattern !== undefined && !util.matches(rule.pattern, value)) {
            return `must match ${rule.pattern}`;
        }
        return '';
    }
    if (rule.minimum !== undefined && value < rule.minimum) {
        return `must be at least ${rule.minimum}`;
    }
    if (rule.maximum !== undefined && value > rule.maximum) {
        return `must be at most ${rule.maximum}`;
    }
    return '';
}

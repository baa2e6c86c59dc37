/**
 * A synchronous operation: invoke the function with InvocationType RequestResponse and answer
 * with its result.
 *
 * For a function error AppSync puts the worker's errorMessage in ctx.error.message and a generic
 * type in ctx.error.type. ackflow's workers start their messages with "<ErrorType>: " (e.g.
 * "NumberValidationError: 'abc' is not a number"), so the GraphQL error's type is taken from
 * that prefix when there is one; the message is passed on whole.
 */
import { util } from '@aws-appsync/utils';

export function request(ctx) {
    return {
        operation: 'Invoke',
        invocationType: 'RequestResponse',
        payload: ctx.args,
    };
}

export function response(ctx) {
    if (ctx.error) {
        util.error(ctx.error.message, errorType(ctx.error));
    }
    return ctx.result;
}

/** The "<ErrorType>" of "<ErrorType>: <detail>", else the type AppSync gave. */
function errorType(error) {
    const message = error.message ?? '';
    const end = message.indexOf(': ');
    const prefix = end > 0 ? message.slice(0, end) : '';
    const isTypeName = prefix !== '' && !prefix.includes(' ') && !prefix.includes("'");
    return isTypeName ? prefix : error.type;
}

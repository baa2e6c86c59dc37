/**
 * An asynchronous operation: invoke the worker with InvocationType Event and answer at once.
 *
 * Lambda answers an Event invocation with null, so the acknowledgement is built here: a
 * requestId made in the request handler (passed to the worker and kept in the stash), the
 * status ACCEPTED, and the caller's streamId, if any, to subscribe to with onChunk.
 */
import { util } from '@aws-appsync/utils';

export function request(ctx) {
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

/**
 * onChunk(streamId): an enhanced filter so that a subscriber gets only its own stream's chunks.
 */
import { util, extensions } from '@aws-appsync/utils';

export function request() {
    return { payload: null };
}

export function response(ctx) {
    const filter = { streamId: { eq: ctx.args.streamId } };
    extensions.setSubscriptionFilter(util.transform.toSubscriptionFilter(filter));
    return null;
}

/**
 * publishChunk on the NONE data source: the arguments are the chunk. AppSync then delivers it
 * to the onChunk subscribers of its streamId.
 */
export function request(ctx) {
    return { payload: ctx.args };
}

export function response(ctx) {
    return ctx.result;
}

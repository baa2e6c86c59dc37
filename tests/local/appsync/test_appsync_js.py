"""local.appsync.appsync_js: APPSYNC_JS run in V8 with AppSync's util, runtime and extensions."""

from __future__ import annotations

import pytest

from local.appsync.appsync_js import AppSyncJs, ResolverCodeError, ResolverError


def runner(code: str) -> AppSyncJs:
    return AppSyncJs(code, name="test.js")


def test_imports_may_be_renamed_and_exports_become_callable_handlers():
    code = """
    import { util as u, runtime } from '@aws-appsync/utils';
    export function request(ctx) { return { same: ctx.args === ctx.arguments, id: u.autoId() }; }
    export const response = (ctx) => ctx.result;
    """
    with runner(code) as resolver:
        request = resolver.run("request", {"arguments": {"a": 1}})
        assert request["same"] is True
        assert len(request["id"]) == 36
        assert resolver.run("response", {"arguments": {}, "result": [1, 2]}) == [1, 2]


def test_early_return_skips_the_rest_and_is_reported():
    code = """
    import { runtime } from '@aws-appsync/utils';
    export function request(ctx) { runtime.earlyReturn({ cached: true }); return { never: 1 }; }
    export function response(ctx) { return ctx.result; }
    """
    with runner(code) as resolver:
        assert resolver.run("request", {"arguments": {}}) == {"cached": True}
        assert resolver.last is not None and resolver.last.early_return


def test_appended_errors_stash_changes_and_logs_are_kept_with_the_result():
    code = """
    import { util } from '@aws-appsync/utils';
    export function request(ctx) {
        util.appendError('partial', 'Partial', { n: 1 });
        ctx.stash.seen = true;
        console.log('handled', { n: 2 });
        return {};
    }
    export function response(ctx) { return ctx.result; }
    """
    with runner(code) as resolver:
        outcome = resolver.invoke("request", {"arguments": {}, "stash": {"kept": 1}})
    assert outcome.errors == [
        {"message": "partial", "errorType": "Partial", "data": {"n": 1}, "errorInfo": None}
    ]
    assert outcome.stash == {"kept": 1, "seen": True}
    assert outcome.logs == ['handled {"n":2}']


def test_util_error_carries_its_data_and_info():
    code = """
    import { util } from '@aws-appsync/utils';
    export function request(ctx) { util.error('no', 'Bad', { x: 1 }, { y: 2 }); }
    """
    with runner(code) as resolver, pytest.raises(ResolverError) as raised:
        resolver.run("request", {"arguments": {}})
    assert (raised.value.message, raised.value.error_type) == ("no", "Bad")
    assert (raised.value.data, raised.value.error_info) == ({"x": 1}, {"y": 2})


def test_or_filters_make_one_group_per_alternative_sharing_the_other_fields():
    code = """
    import { util, extensions } from '@aws-appsync/utils';
    export function response(ctx) {
        extensions.setSubscriptionFilter(util.transform.toSubscriptionFilter({
            streamId: { eq: 's' }, secret: { eq: 'x' },
            or: [{ seq: { gt: 3 } }, { done: { eq: true } }],
        }, ['secret']));
        return null;
    }
    """
    with runner(code) as resolver:
        assert resolver.run("response", {"arguments": {}}) is None
        stream = {"fieldName": "streamId", "operator": "eq", "value": "s"}
        assert resolver.subscription_filter == {
            "filterGroup": [
                {"filters": [stream, {"fieldName": "seq", "operator": "gt", "value": 3}]},
                {"filters": [stream, {"fieldName": "done", "operator": "eq", "value": True}]},
            ]
        }


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import { ddb } from '@aws-appsync/utils/dynamodb';", "only @aws-appsync/utils"),
        ("export default function request(ctx) { return {}; }", "unsupported module syntax"),
        ("export function request(ctx) { return {;", "SyntaxError"),
    ],
)
def test_code_that_cannot_load_is_rejected_with_the_reason(code, expected):
    with pytest.raises(ResolverCodeError, match=expected):
        runner(code)


def test_a_javascript_exception_or_a_missing_handler_is_a_code_error():
    with runner("export function request(ctx) { return ctx.args.missing.deeper; }") as resolver:
        with pytest.raises(ResolverCodeError, match="TypeError"):
            resolver.run("request", {"arguments": {}})
        with pytest.raises(ResolverCodeError, match="no response function"):
            resolver.run("response", {"arguments": {}})


def test_a_runaway_handler_is_stopped_and_the_runner_keeps_working():
    code = "export function request(ctx) { if (ctx.args.spin) { for (;;) {} } return 'ok'; }"
    with AppSyncJs(code, timeout_seconds=0.2) as resolver:
        with pytest.raises(ResolverCodeError, match="stopped"):
            resolver.run("request", {"arguments": {"spin": True}})
        assert resolver.run("request", {"arguments": {}}) == "ok"

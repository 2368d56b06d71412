/* ipc_msgs_test - the declared messages: structs, codec and dumps. */
#include "global/ipc_msgs.h"
#include "lib/msg.h"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

/* dump_of - the dump of the single frame in OUT */
static const char *dump_of(const struct buf *out, struct ipc_frame *f,
                           struct buf *text)
{
    struct buf why = BUF_INIT;
    size_t used;

    assert_int_equal(ipc_parse(span_make(out->data, out->len), &used, f, &why),
                     IPC_PARSE_FRAME);
    assert_int_equal(used, out->len);
    buf_reset(text);
    assert_int_equal(ipc_msgs_dump(f, text), 0);
    buf_fini(&why);
    return buf_str(text);
}

/* test_deliver_req - a request with two recipients, both ways */
static void test_deliver_req(void **state)
{
    struct ipc_rcpt rcpts[] = {
        {.address = "a@example.test",
         .orig_rcpt = "A@example.test",
         .notify = 8,
         .orcpt = "rfc822;A@example.test",
         .offset = 120},
        {.address = "b@example.test", .offset = 180},
    };
    struct ipc_deliver_req req = {
        .queue_id = "3F1A2B4C5D",
        .queue_name = "active",
        .content_offset = 300,
        .sender = "",
        .envid = "env 1",
        .ret = 2,
        .arrival_time = 1796064184,
        .nexthop = "example.test",
        .rcpt = rcpts,
        .rcpt_count = 2,
    };
    struct ipc_deliver_req got;
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;
    struct buf text = BUF_INIT;
    struct ipc_frame f;

    (void) state;
    assert_int_equal(ipc_deliver_req_encode(&req, 17, &out, &why), 0);
    assert_string_equal(
        dump_of(&out, &f, &text),
        "deliver_req queue_id=3F1A2B4C5D queue_name=active content_offset=300 "
        "sender=\"\" envid=\"env 1\" ret=2 arrival_time=1796064184 "
        "nexthop=example.test rcpt={address=a@example.test "
        "orig_rcpt=A@example.test notify=8 orcpt=rfc822;A@example.test "
        "offset=120} rcpt={address=b@example.test offset=180}");
    assert_int_equal(f.type, 1);
    assert_int_equal(f.request_id, 17);
    assert_int_equal(ipc_deliver_req_decode(&f, &got, &why), 0);
    assert_string_equal(got.queue_id, "3F1A2B4C5D");
    assert_string_equal(got.sender, "");
    assert_string_equal(got.envid, "env 1");
    assert_int_equal(got.rcpt_count, 2);
    assert_string_equal(got.rcpt[0].orcpt, "rfc822;A@example.test");
    assert_int_equal(got.rcpt[0].notify, 8);
    assert_null(got.rcpt[1].orig_rcpt);
    assert_true(got.rcpt[1].offset == 180);
    assert_true(got.arrival_time == 1796064184);
    /* Other messages do not accept it. */
    assert_int_equal(ipc_wakeup_decode(&f, &(struct ipc_wakeup){0}, &why), -1);
    assert_string_equal(buf_str(&why), "message type 1, want 3 (wakeup)");
    ipc_deliver_req_fini(&got);
    assert_null(got.rcpt);

    /* No recipient: the encoder refuses it and so does the decoder. */
    req.rcpt_count = 0;
    buf_reset(&out);
    assert_int_equal(ipc_deliver_req_encode(&req, 1, &out, &why), -1);
    assert_string_equal(buf_str(&why),
                        "missing required field rcpt in deliver_req");
    buf_reset(&out);
    ipc_enc_begin(&out, 1, 2, 0);
    ipc_enc_field(&out, 1, "Q", 1);
    ipc_enc_field(&out, 2, "active", 6);
    ipc_enc_u64(&out, 3, 0);
    ipc_enc_field(&out, 4, "", 0);
    ipc_enc_u64(&out, 7, 0);
    ipc_enc_field(&out, 9, "x", 1);
    assert_int_equal(ipc_enc_end(&out, 0, &why), 0);
    buf_reset(&text);
    {
        size_t used;

        assert_int_equal(
            ipc_parse(span_make(out.data, out.len), &used, &f, &why),
            IPC_PARSE_FRAME);
    }
    assert_int_equal(ipc_deliver_req_decode(&f, &got, &why), -1);
    assert_string_equal(buf_str(&why),
                        "missing required field rcpt in deliver_req");
    buf_fini(&out);
    buf_fini(&why);
    buf_fini(&text);
}

/* test_small_messages - status, wakeup, child status, flush, reply */
static void test_small_messages(void **state)
{
    struct ipc_deliver_status st = {.offset = 120,
                                    .status = "5.1.1",
                                    .action = "failed",
                                    .reason = "unknown user: \"x\"",
                                    .relay = "local",
                                    .done = 1};
    struct ipc_wakeup wk = {.queue_name = "incoming", .queue_id = "ABC"};
    struct ipc_child_status cs = {.pid = 1234, .state = IPC_CHILD_BUSY};
    struct ipc_flush fl = {.domain = "example.test"};
    struct ipc_reply rp = {.status = IPC_REPLY_OK};
    struct ipc_deliver_status st2;
    struct buf out = BUF_INIT;
    struct buf why = BUF_INIT;
    struct buf text = BUF_INIT;
    struct ipc_frame f;

    (void) state;
    assert_int_equal(ipc_deliver_status_encode(&st, 3, &out, &why), 0);
    assert_string_equal(dump_of(&out, &f, &text),
                        "deliver_status offset=120 status=5.1.1 action=failed "
                        "reason=\"unknown user: \\\"x\\\"\" relay=local "
                        "done=1");
    assert_int_equal(ipc_deliver_status_decode(&f, &st2, &why), 0);
    assert_string_equal(st2.reason, "unknown user: \"x\"");
    assert_null(st2.remote_mta);
    assert_int_equal(st2.done, 1);
    ipc_deliver_status_fini(&st2);

    buf_reset(&out);
    assert_int_equal(ipc_wakeup_encode(&wk, 0, &out, &why), 0);
    assert_string_equal(dump_of(&out, &f, &text),
                        "wakeup queue_name=incoming queue_id=ABC");
    buf_reset(&out);
    assert_int_equal(ipc_child_status_encode(&cs, 0, &out, &why), 0);
    assert_string_equal(dump_of(&out, &f, &text),
                        "child_status pid=1234 state=2");
    buf_reset(&out);
    assert_int_equal(ipc_flush_encode(&fl, 0, &out, &why), 0);
    assert_string_equal(dump_of(&out, &f, &text), "flush domain=example.test");
    /* A required integer is sent even when it is zero. */
    buf_reset(&out);
    assert_int_equal(ipc_reply_encode(&rp, 0, &out, &why), 0);
    assert_string_equal(dump_of(&out, &f, &text), "reply status=0");
    assert_string_equal(ipc_msgs_name(5), "flush");
    /* Groups are no frame types (fuzz_ipc once decoded with one: panic). */
    for (size_t i = 0; i < ipc_msgs_count; i++)
        assert_int_not_equal(ipc_msgs_all[i]->type, 0);
    assert_int_equal(ipc_msgs_count, 8);
    assert_int_equal(ipc_rcpt_desc.type, 0);
    assert_null(ipc_msgs_name(0));
    assert_null(ipc_msgs_name(999));
    buf_fini(&out);
    buf_fini(&why);
    buf_fini(&text);
}

/* main - run the ipc_msgs tests */
/* test_anvil - anvil_req and anvil_reply both ways; a reply without
 * its required status does not decode */
static void test_anvil(void **state)
{
    struct ipc_anvil_req req = {
        .op = IPC_ANVIL_CONNECT, .service = "smtp", .client = "2001:db8::1"};
    struct ipc_anvil_reply rep = {.status = 0, .count = 2, .rate = 3};
    struct ipc_anvil_req got;
    struct ipc_anvil_reply grep;
    struct buf out = BUF_INIT, why = BUF_INIT, text = BUF_INIT;
    struct ipc_frame f;

    (void) state;
    assert_int_equal(ipc_anvil_req_encode(&req, 9, &out, &why), 0);
    assert_string_equal(dump_of(&out, &f, &text),
                        "anvil_req op=1 service=smtp client=2001:db8::1");
    assert_int_equal(f.type, 7);
    assert_int_equal(ipc_anvil_req_decode(&f, &got, &why), 0);
    assert_int_equal(got.op, IPC_ANVIL_CONNECT);
    assert_string_equal(got.client, "2001:db8::1");
    ipc_anvil_req_fini(&got);
    buf_reset(&out);
    assert_int_equal(ipc_anvil_reply_encode(&rep, 9, &out, &why), 0);
    assert_string_equal(dump_of(&out, &f, &text),
                        "anvil_reply status=0 count=2 rate=3");
    assert_int_equal(ipc_anvil_reply_decode(&f, &grep, &why), 0);
    assert_int_equal(grep.count, 2);
    assert_int_equal(grep.mail_rate, 0);
    ipc_anvil_reply_fini(&grep);
    /* a reply frame with no field at all */
    buf_reset(&out);
    ipc_enc_begin(&out, 8, 1, 9);
    assert_int_equal(ipc_enc_end(&out, 0, &why), 0);
    assert_int_equal(ipc_parse(span_make(buf_str(&out), buf_len(&out)),
                               &(size_t){0}, &f, &why),
                     IPC_PARSE_FRAME);
    assert_int_equal(ipc_anvil_reply_decode(&f, &grep, &why), -1);
    buf_fini(&out);
    buf_fini(&why);
    buf_fini(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deliver_req),
        cmocka_unit_test(test_anvil),
        cmocka_unit_test(test_small_messages),
    };

    msg_init("ipc_msgs_test");
    return cmocka_run_group_tests(tests, NULL, NULL);
}

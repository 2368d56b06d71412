/*
 * cleanup_pool - the commit workers: queue_writer_commit (fsync of the
 * file, rename, fsync of the folder) on a few threads, the result back on
 * the loop (see cleanup_int.h).
 *
 * Why: one smtpd process serves many sessions; with the commit in the
 * loop, every session waits for every other's fsyncs in turn, and the
 * process sleeps in the disk instead of reading the next message.  On the
 * workers the fsyncs of many sessions run at once (a journalling file
 * system commits them together) while the loop goes on.
 *
 * A worker touches only the job's queue_writer (its own file, descriptors
 * and buffers; the queue_dir it reads is constant) and the job's WHY.
 * Everything else of the job - the cleanup state, the session - belongs to
 * the loop: the loop callback runs JOB->fn there.  The workers block every
 * signal, so that signals reach the loop thread as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "cleanup_int.h"

#include "../lib/msg.h"
#include "../global/queue_file.h"

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a job was added to todo */
    pthread_cond_t idle; /* a job was finished */
    struct cleanup_pool_job *todo, *todo_tail;
    struct cleanup_pool_job *done, *done_tail;
    long busy;   /* submitted, not yet in done */
    int threads; /* workers started */
    bool failed; /* none could be started: commits stay in the loop */
    int pipe[2]; /* a byte when done became non-empty */
    struct loop *loop;
    struct loop_ev *ev;
} pool = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .work = PTHREAD_COND_INITIALIZER,
    .idle = PTHREAD_COND_INITIALIZER,
    .pipe = {-1, -1},
};

/* append - JOB at the end of the list HEAD/TAIL */
static void append(struct cleanup_pool_job **head,
                   struct cleanup_pool_job **tail, struct cleanup_pool_job *job)
{
    job->next = NULL;
    if (*tail)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

/* finished - JOB's commit is over (called with the lock held) */
static void finished(struct cleanup_pool_job *job)
{
    bool was_empty = pool.done == NULL;
    char byte = 'D';

    append(&pool.done, &pool.done_tail, job);
    pool.busy--;
    pthread_cond_broadcast(&pool.idle);
    /* One byte per batch: the loop takes every finished job at once.  A
     * full pipe already holds a byte for the loop. */
    if (was_empty)
        while (write(pool.pipe[1], &byte, 1) < 0 && errno == EINTR)
            continue;
}

/* worker - take jobs for ever */
static void *worker(void *arg)
{
    (void) arg;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        struct cleanup_pool_job *job;

        while (pool.todo == NULL)
            pthread_cond_wait(&pool.work, &pool.mu);
        job = pool.todo;
        pool.todo = job->next;
        if (pool.todo == NULL)
            pool.todo_tail = NULL;
        pthread_mutex_unlock(&pool.mu);
        job->rc = queue_writer_commit(job->w, &job->why);
        job->w = NULL; /* freed by the commit */
        pthread_mutex_lock(&pool.mu);
        finished(job);
    }
    return NULL;
}

/* take_done - the finished jobs, in order (the list is emptied) */
static struct cleanup_pool_job *take_done(void)
{
    struct cleanup_pool_job *list;

    pthread_mutex_lock(&pool.mu);
    list = pool.done;
    pool.done = pool.done_tail = NULL;
    pthread_mutex_unlock(&pool.mu);
    return list;
}

/* run_done - the loop's part of each job in LIST */
static void run_done(struct cleanup_pool_job *list)
{
    while (list) {
        struct cleanup_pool_job *next = list->next;

        list->fn(list); /* may free the job */
        list = next;
    }
    cleanup_pool_batch_end();
}

/* on_done - the workers finished jobs: their callbacks, from the loop */
static void on_done(int fd, int what, void *arg)
{
    char bytes[64];

    (void) what;
    (void) arg;
    while (read(fd, bytes, sizeof(bytes)) > 0)
        continue;
    run_done(take_done());
}

/* start - the pipe, the loop event and the workers; -1 when not even one
 * worker could be started */
static int start(struct loop *l)
{
    sigset_t all, old;

    if (pipe2(pool.pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        msg_warn("cleanup: commit workers: pipe: %m");
        return -1;
    }
    pool.loop = l;
    pool.ev = loop_read(l, pool.pipe[0], on_done, NULL);
    loop_ev_arm(pool.ev, -1);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 0; i < CLEANUP_POOL_THREADS; i++) {
        pthread_t t;
        pthread_attr_t attr;
        int err;

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* A commit needs little stack. */
        pthread_attr_setstacksize(&attr, 256 * 1024);
        err = pthread_create(&t, &attr, worker, NULL);
        pthread_attr_destroy(&attr);
        if (err != 0) {
            msg_warn("cleanup: commit worker %d: %s", i, strerror(err));
            break;
        }
        pool.threads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return pool.threads > 0 ? 0 : -1;
}

/* cleanup_pool_submit - commit JOB->w on a worker, JOB->fn on L later */
int cleanup_pool_submit(struct loop *l, struct cleanup_pool_job *job)
{
    if (pool.failed)
        return -1;
    if (pool.loop == NULL && start(l) < 0) {
        /* No workers: the caller commits in the loop, as before. */
        loop_ev_free(pool.ev);
        pool.ev = NULL;
        if (pool.pipe[0] >= 0) {
            (void) close(pool.pipe[0]);
            (void) close(pool.pipe[1]);
        }
        pool.pipe[0] = pool.pipe[1] = -1;
        pool.loop = NULL;
        pool.failed = true;
        return -1;
    }
    if (pool.loop != l)
        msg_panic("cleanup_pool_submit: a second loop");
    job->rc = -1;
    buf_init(&job->why, 0);
    pthread_mutex_lock(&pool.mu);
    pool.busy++;
    append(&pool.todo, &pool.todo_tail, job);
    pthread_cond_signal(&pool.work);
    pthread_mutex_unlock(&pool.mu);
    return 0;
}

/* cleanup_pool_drain - wait for every submitted job and run its callback */
void cleanup_pool_drain(void)
{
    if (pool.threads == 0)
        return;
    pthread_mutex_lock(&pool.mu);
    while (pool.busy > 0)
        pthread_cond_wait(&pool.idle, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
    run_done(take_done());
}

/* cleanup_pool_busy - jobs submitted and not yet through their callback */
long cleanup_pool_busy(void)
{
    long n;

    pthread_mutex_lock(&pool.mu);
    n = pool.busy;
    for (struct cleanup_pool_job *j = pool.done; j; j = j->next)
        n++;
    pthread_mutex_unlock(&pool.mu);
    return n;
}

#include "master_listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/mem.h"
#include "../lib/msg.h"

/* The listen(2) backlog of every stream listener. */
#define MASTER_BACKLOG 128

struct addrs {
    struct sockaddr_storage ss[SERVER_MAX_LISTEN];
    socklen_t len[SERVER_MAX_LISTEN];
    int n;
};

/* addr_text - "1.2.3.4 port 25" or "::1 port 25" */
static void addr_text(const struct sockaddr_storage *ss, struct buf *out)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *) ss;

        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
        port = ntohs(s4->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) ss;

        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
        port = ntohs(s6->sin6_port);
    }
    buf_catf(out, "%s port %d", host, port);
}

/* have_ipv6 - the kernel can make IPv6 sockets */
static bool have_ipv6(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* protocols - which families $inet_protocols asks for */
static int protocols(const struct argv *list, bool *v4, bool *v6,
                     struct buf *why)
{
    *v4 = *v6 = false;
    for (size_t i = 0; i < list->argc; i++) {
        const char *p = list->argv[i];

        if (strcasecmp(p, "all") == 0) {
            *v4 = true;
            *v6 = have_ipv6();
        } else if (strcasecmp(p, "ipv4") == 0) {
            *v4 = true;
        } else if (strcasecmp(p, "ipv6") == 0) {
            *v6 = true;
        } else {
            buf_setf(why, "inet_protocols: unknown protocol \"%s\"", p);
            return -1;
        }
    }
    if (!*v4 && !*v6) {
        buf_setf(why, "inet_protocols: no protocol is enabled");
        return -1;
    }
    return 0;
}

/* add_host - the addresses of HOST (NULL: wildcard) and PORT */
static int add_host(struct addrs *a, const char *host, const char *port,
                    bool v4, bool v6, struct buf *why)
{
    struct addrinfo hints = {0};
    struct addrinfo *res;
    int err;

    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    hints.ai_family = v4 && v6 ? AF_UNSPEC : v4 ? AF_INET : AF_INET6;
    if ((err = getaddrinfo(host, port, &hints, &res)) != 0) {
        buf_setf(why, "%s%s%s: %s", host ? host : "", host ? " port " : "port ",
                 port, gai_strerror(err));
        return -1;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        bool dup = false;

        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        for (int i = 0; i < a->n && !dup; i++)
            dup = a->len[i] == ai->ai_addrlen
                  && memcmp(&a->ss[i], ai->ai_addr, ai->ai_addrlen) == 0;
        if (dup)
            continue;
        if (a->n >= SERVER_MAX_LISTEN) {
            freeaddrinfo(res);
            buf_setf(why, "too many addresses to listen on (more than %d)",
                     SERVER_MAX_LISTEN);
            return -1;
        }
        memcpy(&a->ss[a->n], ai->ai_addr, ai->ai_addrlen);
        a->len[a->n++] = ai->ai_addrlen;
    }
    freeaddrinfo(res);
    return 0;
}

/* inet_addrs - every address an inet service listens on */
static int inet_addrs(const char *service, const struct master_listen_conf *lc,
                      struct addrs *a, struct buf *why)
{
    char *copy = mem_strdup(service);
    char *host = NULL;
    char *port = copy;
    char *colon;
    bool v4, v6;
    int ret = 0;

    a->n = 0;
    if (copy[0] == '[') {
        char *end = strchr(copy, ']');

        if (end == NULL || end[1] != ':') {
            buf_setf(why, "bad inet service \"%s\": want [address]:port",
                     service);
            mem_free(copy);
            return -1;
        }
        *end = 0;
        host = copy + 1;
        port = end + 2;
    } else if ((colon = strrchr(copy, ':')) != NULL) {
        *colon = 0;
        host = copy;
        port = colon + 1;
    }
    if (*port == 0) {
        buf_setf(why, "bad inet service \"%s\": no port", service);
        mem_free(copy);
        return -1;
    }
    if (protocols(lc->protocols, &v4, &v6, why) < 0) {
        mem_free(copy);
        return -1;
    }
    if (host && *host) {
        ret = add_host(a, host, port, v4, v6, why);
    } else {
        for (size_t i = 0; i < lc->interfaces->argc && ret == 0; i++) {
            char *h = lc->interfaces->argv[i];
            size_t len = strlen(h);

            if (strcasecmp(h, "all") == 0) {
                if (v4)
                    ret = add_host(a, "0.0.0.0", port, true, false, why);
                if (v6 && ret == 0)
                    ret = add_host(a, "::", port, false, true, why);
            } else if (strcasecmp(h, "loopback-only") == 0) {
                if (v4)
                    ret = add_host(a, "127.0.0.1", port, true, false, why);
                if (v6 && ret == 0)
                    ret = add_host(a, "::1", port, false, true, why);
            } else if (h[0] == '[' && len > 2 && h[len - 1] == ']') {
                char *inner = mem_strndup(h + 1, len - 2);

                ret = add_host(a, inner, port, v4, v6, why);
                mem_free(inner);
            } else {
                ret = add_host(a, h, port, v4, v6, why);
            }
        }
    }
    if (ret == 0 && a->n == 0) {
        buf_setf(why, "inet service \"%s\": no address to listen on", service);
        ret = -1;
    }
    mem_free(copy);
    return ret;
}

/* local_path - queue_directory/{private,public}/NAME */
static int local_path(const struct master_ent *e,
                      const struct master_listen_conf *lc, struct buf *out,
                      struct buf *why)
{
    struct sockaddr_un sun;

    if (strchr(e->service, '/') || e->service[0] == '.' || e->service[0] == 0) {
        buf_setf(why,
                 "service name \"%s\": may not contain '/' or start "
                 "with '.'",
                 e->service);
        return -1;
    }
    buf_setf(out, "%s/%s/%s", lc->queue_dir,
             master_ent_private(e) ? "private" : "public", e->service);
    if (buf_len(out) >= sizeof(sun.sun_path)) {
        buf_setf(why, "socket path too long (%zu bytes, at most %zu): %s",
                 buf_len(out), sizeof(sun.sun_path) - 1, buf_str(out));
        return -1;
    }
    return 0;
}

/* master_listen_key - the endpoints, as text */
int master_listen_key(const struct master_ent *e,
                      const struct master_listen_conf *lc, struct buf *key,
                      struct buf *why)
{
    struct buf path = BUF_INIT;
    struct addrs a;
    int ret = 0;

    buf_reset(key);
    if (e->type == MASTER_TYPE_INET) {
        if ((ret = inet_addrs(e->service, lc, &a, why)) == 0) {
            buf_cat(key, "inet");
            for (int i = 0; i < a.n; i++) {
                buf_cat(key, " ");
                addr_text(&a.ss[i], key);
            }
        }
    } else if ((ret = local_path(e, lc, &path, why)) == 0) {
        buf_setf(key, "%s %s", e->type_name, buf_str(&path));
    }
    buf_fini(&path);
    return ret;
}

/* bind_inet - one stream listener on SS */
static int bind_inet(const struct sockaddr_storage *ss, socklen_t len,
                     struct buf *why)
{
    int one = 1;
    int fd =
        socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0) {
        buf_setf(why, "socket: %m");
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *) ss, len) < 0
        || listen(fd, MASTER_BACKLOG) < 0) {
        int saved = errno;

        buf_set(why, "bind ");
        addr_text(ss, why);
        errno = saved;
        buf_catf(why, ": %m");
        close(fd);
        return -1;
    }
    return fd;
}

/* bind_local - a UNIX-domain socket or a fifo at PATH */
static int bind_local(enum master_type type, const char *path, struct buf *why)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct stat st;
    int fd;

    /* A leftover socket or fifo of an earlier run is replaced; anything
     * else at that name is not ours to remove. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode) && !S_ISFIFO(st.st_mode)) {
            buf_setf(why, "%s exists and is not a socket or fifo", path);
            return -1;
        }
        if (unlink(path) < 0) {
            buf_setf(why, "remove %s: %m", path);
            return -1;
        }
    }
    if (type == MASTER_TYPE_FIFO) {
        if (mkfifo(path, 0622) < 0) {
            buf_setf(why, "mkfifo %s: %m", path);
            return -1;
        }
        /* Read and write, so that the fifo never reads end of file. */
        if ((fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
            buf_setf(why, "open fifo %s: %m", path);
            return -1;
        }
        return fd;
    }
    fd = socket(AF_UNIX,
                (type == MASTER_TYPE_UNIX_DGRAM ? SOCK_DGRAM : SOCK_STREAM)
                    | SOCK_CLOEXEC | SOCK_NONBLOCK,
                0);
    if (fd < 0) {
        buf_setf(why, "socket: %m");
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if (bind(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
        buf_setf(why, "bind %s: %m", path);
        close(fd);
        return -1;
    }
    /* Access is decided by the public/ and private/ folders. */
    if (chmod(path, 0666) < 0
        || (type != MASTER_TYPE_UNIX_DGRAM && listen(fd, MASTER_BACKLOG) < 0)) {
        buf_setf(why, "listen %s: %m", path);
        close(fd);
        unlink(path);
        return -1;
    }
    return fd;
}

/* master_listen_open - bind every endpoint of E */
struct master_listen *master_listen_open(const struct master_ent *e,
                                         const struct master_listen_conf *lc,
                                         struct buf *why)
{
    struct master_listen *l = mem_zalloc(sizeof(*l));
    struct buf key = BUF_INIT;
    struct buf path = BUF_INIT;
    struct addrs a;

    l->type = e->type;
    if (master_listen_key(e, lc, &key, why) < 0)
        goto fail;
    l->key = buf_steal(&key);
    if (e->type == MASTER_TYPE_INET) {
        if (inet_addrs(e->service, lc, &a, why) < 0)
            goto fail;
        for (int i = 0; i < a.n; i++) {
            if ((l->fd[l->n] = bind_inet(&a.ss[i], a.len[i], why)) < 0)
                goto fail;
            l->n++;
        }
    } else {
        if (local_path(e, lc, &path, why) < 0)
            goto fail;
        if ((l->fd[0] = bind_local(e->type, buf_str(&path), why)) < 0)
            goto fail;
        l->n = 1;
        l->path = buf_steal(&path);
    }
    buf_fini(&path);
    return l;

fail:
    buf_fini(&key);
    buf_fini(&path);
    master_listen_close(l, false);
    return NULL;
}

/* master_listen_close - descriptors, file, memory */
void master_listen_close(struct master_listen *l, bool unlink_path)
{
    if (l == NULL)
        return;
    for (int i = 0; i < l->n; i++)
        close(l->fd[i]);
    if (unlink_path && l->path)
        unlink(l->path);
    mem_free(l->key);
    mem_free(l->path);
    mem_free(l);
}

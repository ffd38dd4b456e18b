/*
 * Not part of phc-winner-argon2: the project's glue (see README.md), CC0 like the code it joins.
 *
 * argon2_hash() and argon2_verify() of src/argon2.c, except that the memory blocks (19 MiB at the app's
 * parameters) come from one area per process that every hash reuses, one hash at a time. With malloc,
 * glibc keeps a freed area of that size in the malloc arena of the thread that used it, so a worker with
 * several request threads held one per thread (issue 21: memory per worker); freeing it to the system
 * instead (a fixed mmap threshold) made each hash fault its 19 MiB in again, which doubled its cost.
 * Hashes of one process take turns; processes (the server's workers) still hash in parallel. The area
 * grows to the largest m_cost seen and is wiped by core.c after every use, as malloc'ed blocks are.
 */
#include <stdlib.h>
#include <string.h>

#include "argon2.h"
#include "core.h"
#include "encoding.h"

#if defined(_WIN32)
#define AREA_LOCK()
#define AREA_UNLOCK()
#else
#include <pthread.h>
static pthread_mutex_t area_lock = PTHREAD_MUTEX_INITIALIZER;
#define AREA_LOCK() pthread_mutex_lock(&area_lock)
#define AREA_UNLOCK() pthread_mutex_unlock(&area_lock)
#endif

static uint8_t *area = NULL;
static size_t area_size = 0;

/* core.c's allocate_cbk, called with area_lock held: *memory is NULL when there is no room */
static int take_area(uint8_t **memory, size_t bytes) {
    if (bytes > area_size) {
        free(area);
        area = malloc(bytes);
        area_size = area ? bytes : 0;
    }
    *memory = area;
    return area ? ARGON2_OK : ARGON2_MEMORY_ALLOCATION_ERROR;
}

/* core.c's free_cbk: it has wiped the blocks; the area stays for the next hash */
static void keep_area(uint8_t *memory, size_t bytes) {
    (void)memory;
    (void)bytes;
}

/* argon2_ctx(), or argon2_verify_ctx() against `expected` (constant-time), with the blocks in the area */
static int run_in_area(argon2_context *context, argon2_type type, const uint8_t *expected) {
    int result;
    context->allocate_cbk = take_area;
    context->free_cbk = keep_area;
    AREA_LOCK();
    result = expected ? argon2_verify_ctx(context, (const char *)expected, type) : argon2_ctx(context, type);
    AREA_UNLOCK();
    return result;
}

/* argon2_hash() with the area */
ARGON2_PUBLIC int idp_argon2_hash(const uint32_t t_cost, const uint32_t m_cost, const uint32_t parallelism,
                                  const void *pwd, const size_t pwdlen, const void *salt, const size_t saltlen,
                                  void *hash, const size_t hashlen, char *encoded, const size_t encodedlen,
                                  argon2_type type, const uint32_t version) {
    argon2_context context;
    int result;
    uint8_t *out;

    if (pwdlen > ARGON2_MAX_PWD_LENGTH) return ARGON2_PWD_TOO_LONG;
    if (saltlen > ARGON2_MAX_SALT_LENGTH) return ARGON2_SALT_TOO_LONG;
    if (hashlen > ARGON2_MAX_OUTLEN) return ARGON2_OUTPUT_TOO_LONG;
    if (hashlen < ARGON2_MIN_OUTLEN) return ARGON2_OUTPUT_TOO_SHORT;
    out = malloc(hashlen);
    if (!out) return ARGON2_MEMORY_ALLOCATION_ERROR;

    memset(&context, 0, sizeof(context));
    context.out = out;
    context.outlen = (uint32_t)hashlen;
    context.pwd = (uint8_t *)pwd;
    context.pwdlen = (uint32_t)pwdlen;
    context.salt = (uint8_t *)salt;
    context.saltlen = (uint32_t)saltlen;
    context.t_cost = t_cost;
    context.m_cost = m_cost;
    context.lanes = parallelism;
    context.threads = parallelism;
    context.flags = ARGON2_DEFAULT_FLAGS;
    context.version = version;

    result = run_in_area(&context, type, NULL);
    if (result == ARGON2_OK && hash) memcpy(hash, out, hashlen);
    if (result == ARGON2_OK && encoded && encodedlen) {
        if (encode_string(encoded, encodedlen, &context, type) != ARGON2_OK) {
            clear_internal_memory(encoded, encodedlen);
            result = ARGON2_ENCODING_FAIL;
        }
    }
    clear_internal_memory(out, hashlen);
    free(out);
    return result;
}

/* argon2_verify() with the area */
ARGON2_PUBLIC int idp_argon2_verify(const char *encoded, const void *pwd, const size_t pwdlen, argon2_type type) {
    argon2_context context;
    uint8_t *desired = NULL;
    size_t encoded_len;
    int result;

    if (pwdlen > ARGON2_MAX_PWD_LENGTH) return ARGON2_PWD_TOO_LONG;
    if (encoded == NULL) return ARGON2_DECODING_FAIL;
    encoded_len = strlen(encoded);
    if (encoded_len > UINT32_MAX) return ARGON2_DECODING_FAIL;

    memset(&context, 0, sizeof(context));
    /* no field can be longer than the encoded string */
    context.saltlen = context.outlen = (uint32_t)encoded_len;
    context.salt = malloc(context.saltlen);
    context.out = malloc(context.outlen);
    if (!context.salt || !context.out) {
        result = ARGON2_MEMORY_ALLOCATION_ERROR;
        goto done;
    }
    context.pwd = (uint8_t *)pwd;
    context.pwdlen = (uint32_t)pwdlen;
    result = decode_string(&context, encoded, type);
    if (result != ARGON2_OK) goto done;

    /* the expected hash aside, a fresh buffer for the computed one */
    desired = context.out;
    context.out = malloc(context.outlen);
    if (!context.out) {
        result = ARGON2_MEMORY_ALLOCATION_ERROR;
        goto done;
    }
    result = run_in_area(&context, type, desired);

done:
    free(context.salt);
    free(context.out);
    free(desired);
    return result;
}

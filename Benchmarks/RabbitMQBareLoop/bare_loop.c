#include "RabbitMQBareLoop.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static amqp_connection_state_t open_connection(const char *host, int port, const char *vhost, const char *user,
                                               const char *password, char *error, size_t error_size) {
    amqp_connection_state_t state = amqp_new_connection();
    amqp_socket_t *socket = amqp_tcp_socket_new(state);
    if (socket == NULL || amqp_socket_open(socket, host, port) != AMQP_STATUS_OK) {
        snprintf(error, error_size, "cannot connect to %s:%d", host, port);
        amqp_destroy_connection(state);
        return NULL;
    }
    amqp_rpc_reply_t reply = amqp_login(state, vhost, 0, 131072, 30, AMQP_SASL_METHOD_PLAIN, user, password);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        snprintf(error, error_size, "login failed");
        amqp_destroy_connection(state);
        return NULL;
    }
    amqp_channel_open(state, 1);
    if (amqp_get_rpc_reply(state).reply_type != AMQP_RESPONSE_NORMAL) {
        snprintf(error, error_size, "channel.open failed");
        amqp_destroy_connection(state);
        return NULL;
    }
    return state;
}

static void close_connection(amqp_connection_state_t state) {
    amqp_channel_close(state, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(state, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(state);
}

int RabbitMQBareLoop_publish(const char *host, int port, const char *vhost, const char *user, const char *password,
                             const char *queue, int count, int size, int window, double *seconds, char *error,
                             size_t error_size) {
    amqp_connection_state_t state = open_connection(host, port, vhost, user, password, error, error_size);
    if (state == NULL) return -1;
    amqp_confirm_select(state, 1);
    if (amqp_get_rpc_reply(state).reply_type != AMQP_RESPONSE_NORMAL) {
        snprintf(error, error_size, "confirm.select failed");
        close_connection(state);
        return -1;
    }
    char *payload = malloc((size_t)size);
    memset(payload, 'x', (size_t)size);
    amqp_bytes_t body = {.len = (size_t)size, .bytes = payload};
    amqp_basic_properties_t properties;
    properties._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
    properties.delivery_mode = 2;
    properties.content_type = amqp_cstring_bytes("application/octet-stream");
    amqp_bytes_t exchange = amqp_empty_bytes;
    amqp_bytes_t routing_key = amqp_cstring_bytes(queue);

    int result = 0;
    uint64_t published = 0, confirmed = 0;
    double start = now_seconds();
    while (confirmed < (uint64_t)count) {
        while (published < (uint64_t)count && published - confirmed < (uint64_t)window) {
            if (amqp_basic_publish(state, 1, exchange, routing_key, 0, 0, &properties, body) != AMQP_STATUS_OK) {
                snprintf(error, error_size, "basic.publish failed");
                result = -1;
                goto done;
            }
            published++;
        }
        amqp_frame_t frame;
        amqp_maybe_release_buffers(state);
        if (amqp_simple_wait_frame(state, &frame) != AMQP_STATUS_OK) {
            snprintf(error, error_size, "reading a confirm failed");
            result = -1;
            goto done;
        }
        if (frame.frame_type != AMQP_FRAME_METHOD) continue;
        if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *ack = frame.payload.method.decoded;
            // Confirms arrive in order here (one queue, one channel), so the tag is the confirmed count.
            if (ack->delivery_tag > confirmed) confirmed = ack->delivery_tag;
        } else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            snprintf(error, error_size, "basic.nack");
            result = -1;
            goto done;
        }
    }
    *seconds = now_seconds() - start;
done:
    free(payload);
    close_connection(state);
    return result;
}

int RabbitMQBareLoop_consume(const char *host, int port, const char *vhost, const char *user, const char *password,
                             const char *queue, int count, int prefetch, double *seconds, char *error,
                             size_t error_size) {
    amqp_connection_state_t state = open_connection(host, port, vhost, user, password, error, error_size);
    if (state == NULL) return -1;
    amqp_basic_qos(state, 1, 0, (uint16_t)prefetch, 0);
    amqp_basic_consume(state, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    if (amqp_get_rpc_reply(state).reply_type != AMQP_RESPONSE_NORMAL) {
        snprintf(error, error_size, "basic.consume failed");
        close_connection(state);
        return -1;
    }
    int result = 0;
    int received = 0;
    double start = now_seconds();
    while (received < count) {
        amqp_envelope_t envelope;
        struct timeval timeout = {.tv_sec = 10, .tv_usec = 0};
        amqp_maybe_release_buffers(state);
        amqp_rpc_reply_t reply = amqp_consume_message(state, &envelope, &timeout, 0);
        if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
            snprintf(error, error_size, "consume failed after %d messages", received);
            result = -1;
            break;
        }
        if (amqp_basic_ack(state, 1, envelope.delivery_tag, 0) != AMQP_STATUS_OK) {
            snprintf(error, error_size, "basic.ack failed");
            result = -1;
            amqp_destroy_envelope(&envelope);
            break;
        }
        amqp_destroy_envelope(&envelope);
        received++;
    }
    *seconds = now_seconds() - start;
    close_connection(state);
    return result;
}

// The bare-loop baseline of the RabbitMQ benchmark: the same librabbitmq calls the Swift layer makes, in a plain
// C loop on the calling thread, with no queue, no continuation and no copy beyond what librabbitmq does itself.
#ifndef RABBITMQ_BARE_LOOP_H
#define RABBITMQ_BARE_LOOP_H

#include <stddef.h>

/// Publishes `count` persistent messages of `size` bytes to `queue` through the default exchange with publisher
/// confirms, keeping at most `window` unconfirmed, and waits for the last confirm. Returns 0 and the elapsed seconds,
/// or -1 with a message in `error`.
int RabbitMQBareLoop_publish(const char *host, int port, const char *vhost, const char *user, const char *password,
                             const char *queue, int count, int size, int window, double *seconds, char *error,
                             size_t error_size);

/// Consumes `count` messages from `queue` with manual acks and the given prefetch, acking each one. Returns 0 and the
/// elapsed seconds, or -1 with a message in `error`.
int RabbitMQBareLoop_consume(const char *host, int port, const char *vhost, const char *user, const char *password,
                             const char *queue, int count, int prefetch, double *seconds, char *error,
                             size_t error_size);

#endif

// C wrappers for the parts of librabbitmq (rabbitmq-c 0.11) that Swift cannot call directly.
// Every symbol is prefixed `CRabbitMQShim_`. Nothing here holds state.
#ifndef CRABBITMQSHIM_H
#define CRABBITMQSHIM_H

#include <amqp.h>

/// `amqp_login_with_properties` is variadic; this calls it with the PLAIN SASL method.
///
/// `username` and `password` must be NUL-terminated and stay valid for the duration of the call only.
/// `properties` may be NULL.
amqp_rpc_reply_t CRabbitMQShim_login(amqp_connection_state_t state, const char *vhost, int channel_max,
                                     int frame_max, int heartbeat, const amqp_table_t *properties,
                                     const char *username, const char *password);

#endif

// The librabbitmq (rabbitmq-c 0.11) headers, nothing else. Wrappers live in CRabbitMQShim.
#ifndef CRABBITMQ_SHIM_H
#define CRABBITMQ_SHIM_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#endif

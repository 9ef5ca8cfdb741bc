/* Kubernetes protobuf request bodies (Content-Type: application/vnd.kubernetes.protobuf).
 * kubectl's imperative generators and drain's DELETE send typed objects in this wire format;
 * this decoder turns the few kinds they send into the JSON object Kubernetes' own JSON encoder
 * would write, so the rest of the server only ever sees JSON. Decoding is bounds-checked and
 * never trusts a length or a nesting depth from the wire. */
#ifndef KROLL_API_PROTOBUF_H
#define KROLL_API_PROTOBUF_H

#include <stddef.h>

#include "core/err.h"

/* The media type this module decodes. */
#define PB_MEDIA_TYPE "application/vnd.kubernetes.protobuf"

/* Decodes a Kubernetes protobuf envelope: the magic "k8s\0" (6b 38 73 00), then a
 * runtime.Unknown {1: TypeMeta{1 apiVersion, 2 kind}, 2: raw, 3: contentEncoding,
 * 4: contentType}, where raw is the message of the kind named in TypeMeta.
 * Supported: the served kinds whose kind_ops entry has a pb message (v1 ConfigMap, Secret,
 * Namespace, Service, Pod, ServiceAccount; apps/v1 Deployment; policy/v1
 * PodDisruptionBudget), DeleteOptions (any apiVersion) and policy/v1 Eviction.
 * On success *out is a new JSON object (caller owns it) with kind and apiVersion first and the
 * fields as Kubernetes' JSON encoding writes them (omitempty honoured, pointer fields kept when
 * present even if zero, bytes as base64, Time as RFC 3339, IntOrString as number or string).
 * Returns 0, -E_UNSUPPORTED_MEDIA for a kind this decoder does not know, or -E_BAD_REQUEST for
 * bytes that are not a well-formed envelope or message; err carries the message. buf is
 * borrowed and may be NULL when len is 0. */
int pb_decode_object(const void *buf, size_t len, json_t **out, struct err *err);

/* The messages of the served kinds that have one (a kind_ops entry's pb). */
struct pb_msg;
extern const struct pb_msg pb_msg_ConfigMap, pb_msg_Secret, pb_msg_Namespace, pb_msg_Service,
    pb_msg_Pod, pb_msg_Deployment, pb_msg_PodDisruptionBudget, pb_msg_ServiceAccount;
extern const struct pb_msg pb_msg_Job;
extern const struct pb_msg pb_msg_HorizontalPodAutoscaler; /* autoscaling/v2 */

/* True when buf starts with the Kubernetes protobuf magic "k8s\0". */
int pb_has_magic(const void *buf, size_t len);

#endif

/* Message descriptors for the protobuf decoder: field numbers from the upstream generated.proto
 * files (k8s.io/api core/v1, apps/v1, policy/v1; apimachinery meta/v1, intstr, resource) and
 * JSON names and flags from the matching Go types (pointer, omitempty, embedded).
 * Fields a request from kubectl never carries and that kroll does not act on (affinity,
 * topology spread, ephemeral containers, managedFields, most volume kinds) are left out on
 * purpose; the walker skips unknown field numbers as the real decoder does. */
#include "api/protobuf-int.h"
#include "api/protobuf.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

/* Flag shorthands: O omitempty scalar, P Go pointer, R repeated+omitempty, I embedded. */
#define O PB_OMIT
#define P (PB_PTR | PB_OMIT)
#define R (PB_REP | PB_OMIT)
#define I PB_INLINE

#define FS(n, j, fl)                                                                               \
    {                                                                                              \
        n, j, PB_STR, fl, 0                                                                        \
    }
#define FI32(n, j, fl)                                                                             \
    {                                                                                              \
        n, j, PB_I32, fl, 0                                                                        \
    }
#define FI64(n, j, fl)                                                                             \
    {                                                                                              \
        n, j, PB_I64, fl, 0                                                                        \
    }
#define FB(n, j, fl)                                                                               \
    {                                                                                              \
        n, j, PB_BOOL, fl, 0                                                                       \
    }
#define FM(n, j, m, fl)                                                                            \
    {                                                                                              \
        n, j, PB_MSG, fl, &m                                                                       \
    }
#define FK(n, j, kind, fl)                                                                         \
    {                                                                                              \
        n, j, kind, fl, 0                                                                          \
    }

#define MSG(var, ...)                                                                              \
    static const struct pb_field var##_f[] = {__VA_ARGS__};                                        \
    static const struct pb_msg var = {#var, var##_f, N_(var##_f)}

/* The message of a served kind: named pb_msg_<Kind> for its kind_ops entry (kind_<kind>.c). */
#define ROOT(var, ...)                                                                             \
    static const struct pb_field var##_f[] = {__VA_ARGS__};                                        \
    const struct pb_msg pb_msg_##var = {#var, var##_f, N_(var##_f)}

/* ---- meta/v1 ---- */

MSG(OwnerReference, FS(5, "apiVersion", 0), FS(1, "kind", 0), FS(3, "name", 0), FS(4, "uid", 0),
    FB(6, "controller", P), FB(7, "blockOwnerDeletion", P));

/* managedFields (17) is omitted: clients other than apply never send it. */
MSG(ObjectMeta, FS(1, "name", O), FS(2, "generateName", O), FS(3, "namespace", O),
    FS(4, "selfLink", O), FS(5, "uid", O), FS(6, "resourceVersion", O), FI64(7, "generation", O),
    FK(8, "creationTimestamp", PB_TIME, O), FK(9, "deletionTimestamp", PB_TIME, P),
    FI64(10, "deletionGracePeriodSeconds", P), FK(11, "labels", PB_MAP_STR, O),
    FK(12, "annotations", PB_MAP_STR, O), FM(13, "ownerReferences", OwnerReference, R),
    FS(14, "finalizers", R));

MSG(LabelSelectorRequirement, FS(1, "key", 0), FS(2, "operator", 0), FS(3, "values", R));

MSG(LabelSelector, FK(1, "matchLabels", PB_MAP_STR, O),
    FM(2, "matchExpressions", LabelSelectorRequirement, R));

MSG(Preconditions, FS(1, "uid", P), FS(2, "resourceVersion", P));

MSG(DeleteOptions, FI64(1, "gracePeriodSeconds", P), FM(2, "preconditions", Preconditions, P),
    FB(3, "orphanDependents", P), FS(4, "propagationPolicy", P), FS(5, "dryRun", R),
    FB(6, "ignoreStoreReadErrorWithClusterBreakingPotential", P));

/* ---- core/v1: ConfigMap, Secret, Namespace ---- */

ROOT(ConfigMap, FM(1, "metadata", ObjectMeta, O), FB(4, "immutable", P),
     FK(2, "data", PB_MAP_STR, O), FK(3, "binaryData", PB_MAP_BYTES, O));

ROOT(Secret, FM(1, "metadata", ObjectMeta, O), FB(5, "immutable", P),
     FK(2, "data", PB_MAP_BYTES, O), FK(4, "stringData", PB_MAP_STR, O), FS(3, "type", O));

MSG(NamespaceSpec, FS(1, "finalizers", R));

MSG(NamespaceCondition, FS(1, "type", 0), FS(2, "status", 0),
    FK(4, "lastTransitionTime", PB_TIME, O), FS(5, "reason", O), FS(6, "message", O));

MSG(NamespaceStatus, FS(1, "phase", O), FM(2, "conditions", NamespaceCondition, R));

ROOT(Namespace, FM(1, "metadata", ObjectMeta, O), FM(2, "spec", NamespaceSpec, O),
     FM(3, "status", NamespaceStatus, O));

/* ---- core/v1: Service ---- */

MSG(ServicePort, FS(1, "name", O), FS(2, "protocol", O), FS(6, "appProtocol", P),
    FI32(3, "port", 0), FK(4, "targetPort", PB_IOS, O), FI32(5, "nodePort", O));

MSG(ClientIPConfig, FI32(1, "timeoutSeconds", P));
MSG(SessionAffinityConfig, FM(1, "clientIP", ClientIPConfig, P));

MSG(ServiceSpec, FM(1, "ports", ServicePort, R), FK(2, "selector", PB_MAP_STR, O),
    FS(3, "clusterIP", O), FS(18, "clusterIPs", R), FS(4, "type", O), FS(5, "externalIPs", R),
    FS(7, "sessionAffinity", O), FS(8, "loadBalancerIP", O), FS(9, "loadBalancerSourceRanges", R),
    FS(10, "externalName", O), FS(11, "externalTrafficPolicy", O),
    FI32(12, "healthCheckNodePort", O), FB(13, "publishNotReadyAddresses", O),
    FM(14, "sessionAffinityConfig", SessionAffinityConfig, P), FS(19, "ipFamilies", R),
    FS(17, "ipFamilyPolicy", P), FB(20, "allocateLoadBalancerNodePorts", P),
    FS(21, "loadBalancerClass", P), FS(22, "internalTrafficPolicy", P),
    FS(23, "trafficDistribution", P));

/* Status is what a client may send, not what kroll reports: ingress ports and conditions are
 * skipped. */
MSG(LoadBalancerIngress, FS(1, "ip", O), FS(2, "hostname", O), FS(3, "ipMode", P));
MSG(LoadBalancerStatus, FM(1, "ingress", LoadBalancerIngress, R));
MSG(ServiceStatus, FM(1, "loadBalancer", LoadBalancerStatus, O));

ROOT(Service, FM(1, "metadata", ObjectMeta, O), FM(2, "spec", ServiceSpec, O),
     FM(3, "status", ServiceStatus, O));

/* ---- core/v1: containers ---- */

MSG(LocalObjectReference, FS(1, "name", O));

MSG(ObjectFieldSelector, FS(1, "apiVersion", O), FS(2, "fieldPath", 0));
MSG(ResourceFieldSelector, FS(1, "containerName", O), FS(2, "resource", 0),
    FK(3, "divisor", PB_QTY, O));
MSG(ConfigMapKeySelector, FM(1, "", LocalObjectReference, I), FS(2, "key", 0),
    FB(3, "optional", P));
MSG(SecretKeySelector, FM(1, "", LocalObjectReference, I), FS(2, "key", 0), FB(3, "optional", P));
MSG(EnvVarSource, FM(1, "fieldRef", ObjectFieldSelector, P),
    FM(2, "resourceFieldRef", ResourceFieldSelector, P),
    FM(3, "configMapKeyRef", ConfigMapKeySelector, P), FM(4, "secretKeyRef", SecretKeySelector, P));
MSG(EnvVar, FS(1, "name", 0), FS(2, "value", O), FM(3, "valueFrom", EnvVarSource, P));

MSG(ConfigMapEnvSource, FM(1, "", LocalObjectReference, I), FB(2, "optional", P));
MSG(SecretEnvSource, FM(1, "", LocalObjectReference, I), FB(2, "optional", P));
MSG(EnvFromSource, FS(1, "prefix", O), FM(2, "configMapRef", ConfigMapEnvSource, P),
    FM(3, "secretRef", SecretEnvSource, P));

MSG(ContainerPort, FS(1, "name", O), FI32(2, "hostPort", O), FI32(3, "containerPort", 0),
    FS(4, "protocol", O), FS(5, "hostIP", O));

MSG(ResourceClaim, FS(1, "name", 0), FS(2, "request", O));
MSG(ResourceRequirements, FK(1, "limits", PB_MAP_QTY, O), FK(2, "requests", PB_MAP_QTY, O),
    FM(3, "claims", ResourceClaim, R));
MSG(ContainerResizePolicy, FS(1, "resourceName", 0), FS(2, "restartPolicy", 0));

MSG(VolumeMount, FS(1, "name", 0), FB(2, "readOnly", O), FS(7, "recursiveReadOnly", P),
    FS(3, "mountPath", 0), FS(4, "subPath", O), FS(5, "mountPropagation", P),
    FS(6, "subPathExpr", O), FS(8, "bindMountOptions", R));

MSG(ExecAction, FS(1, "command", R));
MSG(HTTPHeader, FS(1, "name", 0), FS(2, "value", 0));
MSG(HTTPGetAction, FS(1, "path", O), FK(2, "port", PB_IOS, 0), FS(3, "host", O), FS(4, "scheme", O),
    FM(5, "httpHeaders", HTTPHeader, R), FS(6, "protocol", P));
MSG(TCPSocketAction, FK(1, "port", PB_IOS, 0), FS(2, "host", O));
MSG(GRPCAction, FI32(1, "port", 0), FS(2, "service", P), FS(3, "mode", P));
MSG(SleepAction, FI64(1, "seconds", 0));

MSG(ProbeHandler, FM(1, "exec", ExecAction, P), FM(2, "httpGet", HTTPGetAction, P),
    FM(3, "tcpSocket", TCPSocketAction, P), FM(4, "grpc", GRPCAction, P));
MSG(Probe, FM(1, "", ProbeHandler, I), FI32(2, "initialDelaySeconds", O),
    FI32(3, "timeoutSeconds", O), FI32(4, "periodSeconds", O), FI32(5, "successThreshold", O),
    FI32(6, "failureThreshold", O), FI64(7, "terminationGracePeriodSeconds", P));

MSG(LifecycleHandler, FM(1, "exec", ExecAction, P), FM(2, "httpGet", HTTPGetAction, P),
    FM(3, "tcpSocket", TCPSocketAction, P), FM(4, "sleep", SleepAction, P));
MSG(Lifecycle, FM(1, "postStart", LifecycleHandler, P), FM(2, "preStop", LifecycleHandler, P),
    FS(3, "stopSignal", P));

MSG(Capabilities, FS(1, "add", R), FS(2, "drop", R));
MSG(SELinuxOptions, FS(1, "user", O), FS(2, "role", O), FS(3, "type", O), FS(4, "level", O));
MSG(SeccompProfile, FS(1, "type", 0), FS(2, "localhostProfile", P));
MSG(AppArmorProfile, FS(1, "type", 0), FS(2, "localhostProfile", P));

/* windowsOptions (10) is skipped: kroll runs Linux processes only. */
MSG(SecurityContext, FM(1, "capabilities", Capabilities, P), FB(2, "privileged", P),
    FM(3, "seLinuxOptions", SELinuxOptions, P), FI64(4, "runAsUser", P), FI64(8, "runAsGroup", P),
    FB(5, "runAsNonRoot", P), FB(6, "readOnlyRootFilesystem", P),
    FB(7, "allowPrivilegeEscalation", P), FS(9, "procMount", P),
    FM(11, "seccompProfile", SeccompProfile, P), FM(12, "appArmorProfile", AppArmorProfile, P));

/* restartPolicyRules (25) and volumeDevices (21) are skipped. */
MSG(Container, FS(1, "name", 0), FS(2, "image", O), FS(3, "command", R), FS(4, "args", R),
    FS(5, "workingDir", O), FM(6, "ports", ContainerPort, R), FM(19, "envFrom", EnvFromSource, R),
    FM(7, "env", EnvVar, R), FM(8, "resources", ResourceRequirements, O),
    FM(23, "resizePolicy", ContainerResizePolicy, R), FS(24, "restartPolicy", P),
    FM(9, "volumeMounts", VolumeMount, R), FM(10, "livenessProbe", Probe, P),
    FM(11, "readinessProbe", Probe, P), FM(22, "startupProbe", Probe, P),
    FM(12, "lifecycle", Lifecycle, P), FS(13, "terminationMessagePath", O),
    FS(20, "terminationMessagePolicy", O), FS(14, "imagePullPolicy", O),
    FM(15, "securityContext", SecurityContext, P), FB(16, "stdin", O), FB(17, "stdinOnce", O),
    FB(18, "tty", O));

/* ---- core/v1: volumes and pods ---- */

MSG(KeyToPath, FS(1, "key", 0), FS(2, "path", 0), FI32(3, "mode", P), FI64(4, "user", P));
MSG(HostPathVolumeSource, FS(1, "path", 0), FS(2, "type", P));
MSG(EmptyDirVolumeSource, FS(1, "medium", O), FK(2, "sizeLimit", PB_QTY, P), FI32(3, "mode", P));
MSG(SecretVolumeSource, FS(1, "secretName", O), FM(2, "items", KeyToPath, R),
    FI32(3, "defaultMode", P), FB(4, "optional", P), FI64(5, "defaultUser", P));
MSG(ConfigMapVolumeSource, FM(1, "", LocalObjectReference, I), FM(2, "items", KeyToPath, R),
    FI32(3, "defaultMode", P), FB(4, "optional", P), FI64(5, "defaultUser", P));
MSG(PersistentVolumeClaimVolumeSource, FS(1, "claimName", 0), FB(2, "readOnly", O));

/* Only the volume kinds a single-machine runtime can serve. */
MSG(VolumeSource, FM(1, "hostPath", HostPathVolumeSource, P),
    FM(2, "emptyDir", EmptyDirVolumeSource, P), FM(6, "secret", SecretVolumeSource, P),
    FM(10, "persistentVolumeClaim", PersistentVolumeClaimVolumeSource, P),
    FM(19, "configMap", ConfigMapVolumeSource, P));
MSG(Volume, FS(1, "name", 0), FM(2, "", VolumeSource, I));

MSG(Toleration, FS(1, "key", O), FS(2, "operator", O), FS(3, "value", O), FS(4, "effect", O),
    FI64(5, "tolerationSeconds", P));
MSG(Sysctl, FS(1, "name", 0), FS(2, "value", 0));
MSG(PodSecurityContext, FM(1, "seLinuxOptions", SELinuxOptions, P), FI64(2, "runAsUser", P),
    FI64(6, "runAsGroup", P), FB(3, "runAsNonRoot", P), FI64(4, "supplementalGroups", R),
    FS(12, "supplementalGroupsPolicy", P), FI64(5, "fsGroup", P), FM(7, "sysctls", Sysctl, R),
    FS(9, "fsGroupChangePolicy", P), FM(10, "seccompProfile", SeccompProfile, P),
    FM(11, "appArmorProfile", AppArmorProfile, P), FS(13, "seLinuxChangePolicy", P));
MSG(HostAlias, FS(1, "ip", 0), FS(2, "hostnames", R));
MSG(PodReadinessGate, FS(1, "conditionType", 0));
MSG(PodOS, FS(1, "name", 0));

/* Skipped: ephemeralContainers (34), affinity (18), dnsConfig (26),
 * topologySpreadConstraints (33), schedulingGates (38), resourceClaims (39). containers has no
 * omitempty, so an empty list is written as null like Go does. */
MSG(PodSpec, FM(1, "volumes", Volume, R), FM(20, "initContainers", Container, R),
    FM(2, "containers", Container, PB_REP), FS(3, "restartPolicy", O),
    FI64(4, "terminationGracePeriodSeconds", P), FI64(5, "activeDeadlineSeconds", P),
    FS(6, "dnsPolicy", O), FK(7, "nodeSelector", PB_MAP_STR, O), FS(8, "serviceAccountName", O),
    FS(9, "serviceAccount", O), FB(21, "automountServiceAccountToken", P), FS(10, "nodeName", O),
    FB(11, "hostNetwork", O), FB(12, "hostPID", O), FB(13, "hostIPC", O),
    FB(27, "shareProcessNamespace", P), FM(14, "securityContext", PodSecurityContext, P),
    FM(15, "imagePullSecrets", LocalObjectReference, R), FS(16, "hostname", O),
    FS(17, "subdomain", O), FS(19, "schedulerName", O), FM(22, "tolerations", Toleration, R),
    FM(23, "hostAliases", HostAlias, R), FS(24, "priorityClassName", O), FI32(25, "priority", P),
    FM(28, "readinessGates", PodReadinessGate, R), FS(29, "runtimeClassName", P),
    FB(30, "enableServiceLinks", P), FS(31, "preemptionPolicy", P),
    FK(32, "overhead", PB_MAP_QTY, O), FB(35, "setHostnameAsFQDN", P), FM(36, "os", PodOS, P),
    FB(37, "hostUsers", P), FM(40, "resources", ResourceRequirements, P),
    FS(41, "hostnameOverride", P));

MSG(PodTemplateSpec, FM(1, "metadata", ObjectMeta, O), FM(2, "spec", PodSpec, O));

/* A client never owns pod status; the scalar fields are kept for completeness. */
MSG(PodStatus, FS(1, "phase", O), FS(3, "message", O), FS(4, "reason", O),
    FS(11, "nominatedNodeName", O), FS(5, "hostIP", O), FS(6, "podIP", O),
    FK(7, "startTime", PB_TIME, P), FS(9, "qosClass", O));

ROOT(Pod, FM(1, "metadata", ObjectMeta, O), FM(2, "spec", PodSpec, O),
     FM(3, "status", PodStatus, O));

/* ---- apps/v1 ---- */

MSG(RollingUpdateDeployment, FK(1, "maxUnavailable", PB_IOS, P), FK(2, "maxSurge", PB_IOS, P));
MSG(DeploymentStrategy, FS(1, "type", O), FM(2, "rollingUpdate", RollingUpdateDeployment, P));
MSG(DeploymentSpec, FI32(1, "replicas", P), FM(2, "selector", LabelSelector, PB_PTR),
    FM(3, "template", PodTemplateSpec, 0), FM(4, "strategy", DeploymentStrategy, O),
    FI32(5, "minReadySeconds", O), FI32(6, "revisionHistoryLimit", P), FB(7, "paused", O),
    FI32(9, "progressDeadlineSeconds", P));
MSG(DeploymentCondition, FS(1, "type", 0), FS(2, "status", 0), FK(6, "lastUpdateTime", PB_TIME, O),
    FK(7, "lastTransitionTime", PB_TIME, O), FS(4, "reason", O), FS(5, "message", O));
MSG(DeploymentStatus, FI64(1, "observedGeneration", O), FI32(2, "replicas", O),
    FI32(3, "updatedReplicas", O), FI32(7, "readyReplicas", O), FI32(4, "availableReplicas", O),
    FI32(5, "unavailableReplicas", O), FI32(9, "terminatingReplicas", P),
    FM(6, "conditions", DeploymentCondition, R), FI32(8, "collisionCount", P));
ROOT(Deployment, FM(1, "metadata", ObjectMeta, O), FM(2, "spec", DeploymentSpec, O),
     FM(3, "status", DeploymentStatus, O));

/* ---- policy/v1 ---- */

MSG(Eviction, FM(1, "metadata", ObjectMeta, O), FM(2, "deleteOptions", DeleteOptions, P));

/* `kubectl create poddisruptionbudget`; status is left out (the server ignores it on create). */
MSG(PodDisruptionBudgetSpec, FK(1, "minAvailable", PB_IOS, P), FM(2, "selector", LabelSelector, P),
    FK(3, "maxUnavailable", PB_IOS, P), FS(4, "unhealthyPodEvictionPolicy", P));
ROOT(PodDisruptionBudget, FM(1, "metadata", ObjectMeta, O),
     FM(2, "spec", PodDisruptionBudgetSpec, O));

/* ---- core/v1 ServiceAccount (`kubectl create serviceaccount`) ---- */

MSG(ObjectReference, FS(1, "kind", O), FS(2, "namespace", O), FS(3, "name", O), FS(4, "uid", O),
    FS(5, "apiVersion", O), FS(6, "resourceVersion", O), FS(7, "fieldPath", O));
ROOT(ServiceAccount, FM(1, "metadata", ObjectMeta, O), FM(2, "secrets", ObjectReference, R),
     FM(3, "imagePullSecrets", LocalObjectReference, R), FB(4, "automountServiceAccountToken", P));

/* ---- autoscaling/v1 (kubectl autoscale POSTs it; the server converts it to v2) ---- */

MSG(CrossVersionObjectReference, FS(1, "kind", 0), FS(2, "name", 0), FS(3, "apiVersion", O));
MSG(HPAV1Spec, FM(1, "scaleTargetRef", CrossVersionObjectReference, 0), FI32(2, "minReplicas", P),
    FI32(3, "maxReplicas", 0), FI32(4, "targetCPUUtilizationPercentage", P));
MSG(HPAV1, FM(1, "metadata", ObjectMeta, O), FM(2, "spec", HPAV1Spec, O));

/* ---- autoscaling/v2 (kubectl 1.33 autoscale POSTs it first): the spec a request carries ---- */

MSG(MetricTarget, FS(1, "type", 0), FK(2, "value", PB_QTY, P), FK(3, "averageValue", PB_QTY, P),
    FI32(4, "averageUtilization", P));
MSG(MetricIdentifier, FS(1, "name", 0), FM(2, "selector", LabelSelector, P));
MSG(ResourceMetricSource, FS(1, "name", 0), FM(2, "target", MetricTarget, 0));
MSG(ContainerResourceMetricSource, FS(1, "name", 0), FM(2, "target", MetricTarget, 0),
    FS(3, "container", 0));
MSG(PodsMetricSource, FM(1, "metric", MetricIdentifier, 0), FM(2, "target", MetricTarget, 0));
MSG(ObjectMetricSource, FM(1, "describedObject", CrossVersionObjectReference, 0),
    FM(2, "target", MetricTarget, 0), FM(3, "metric", MetricIdentifier, 0));
MSG(ExternalMetricSource, FM(1, "metric", MetricIdentifier, 0), FM(2, "target", MetricTarget, 0));
MSG(MetricSpec, FS(1, "type", 0), FM(2, "object", ObjectMetricSource, P),
    FM(3, "pods", PodsMetricSource, P), FM(4, "resource", ResourceMetricSource, P),
    FM(7, "containerResource", ContainerResourceMetricSource, P),
    FM(5, "external", ExternalMetricSource, P));
MSG(HPAScalingPolicy, FS(1, "type", 0), FI32(2, "value", 0), FI32(3, "periodSeconds", 0));
MSG(HPAScalingRules, FI32(3, "stabilizationWindowSeconds", P), FS(1, "selectPolicy", P),
    FM(2, "policies", HPAScalingPolicy, R), FK(4, "tolerance", PB_QTY, P));
MSG(HorizontalPodAutoscalerBehavior, FM(1, "scaleUp", HPAScalingRules, P),
    FM(2, "scaleDown", HPAScalingRules, P));
MSG(HorizontalPodAutoscalerSpec, FM(1, "scaleTargetRef", CrossVersionObjectReference, 0),
    FI32(2, "minReplicas", P), FI32(3, "maxReplicas", 0), FM(4, "metrics", MetricSpec, R),
    FM(5, "behavior", HorizontalPodAutoscalerBehavior, P));
ROOT(HorizontalPodAutoscaler, FM(1, "metadata", ObjectMeta, O),
     FM(2, "spec", HorizontalPodAutoscalerSpec, O));

/* Kinds that are not served resources but arrive as request bodies; the served kinds' messages
 * are found through their kind_ops entries. */
/* ---- authentication/v1 TokenRequest (`kubectl create token` POSTs it as protobuf) ---- */

MSG(BoundObjectReference, FS(1, "kind", O), FS(2, "apiVersion", O), FS(3, "name", O),
    FS(4, "uid", O));
MSG(TokenRequestSpec, FS(1, "audiences", R), FI64(4, "expirationSeconds", P),
    FM(3, "boundObjectRef", BoundObjectReference, P));
MSG(TokenRequestStatus, FS(1, "token", 0), FK(2, "expirationTimestamp", PB_TIME, 0));
MSG(TokenRequest, FM(1, "metadata", ObjectMeta, O), FM(2, "spec", TokenRequestSpec, O),
    FM(3, "status", TokenRequestStatus, O));

const struct pb_kind_entry pb_kinds[] = {
    {"authentication.k8s.io/v1", "TokenRequest", &TokenRequest},
    {"policy/v1", "Eviction", &Eviction},
    {"policy/v1beta1", "Eviction", &Eviction},
    {0, "DeleteOptions", &DeleteOptions},
    {"autoscaling/v1", "HorizontalPodAutoscaler", &HPAV1},
};
const size_t pb_nkinds = N_(pb_kinds);

/* ---- batch/v1 (podFailurePolicy and successPolicy are left out: kroll refuses them) ---- */

MSG(JobCondition, FS(1, "type", 0), FS(2, "status", 0), FK(3, "lastProbeTime", PB_TIME, O),
    FK(4, "lastTransitionTime", PB_TIME, O), FS(5, "reason", O), FS(6, "message", O));
MSG(UncountedTerminatedPods, FS(1, "succeeded", R), FS(2, "failed", R));
MSG(JobSpec, FI32(1, "parallelism", P), FI32(2, "completions", P),
    FI64(3, "activeDeadlineSeconds", P), FI32(7, "backoffLimit", P),
    FI32(12, "backoffLimitPerIndex", P), FI32(13, "maxFailedIndexes", P),
    FM(4, "selector", LabelSelector, P), FB(5, "manualSelector", P),
    FM(6, "template", PodTemplateSpec, 0), FI32(8, "ttlSecondsAfterFinished", P),
    FS(9, "completionMode", P), FB(10, "suspend", P), FS(14, "podReplacementPolicy", P),
    FS(15, "managedBy", P));
MSG(JobStatus, FM(1, "conditions", JobCondition, R), FK(2, "startTime", PB_TIME, P),
    FK(3, "completionTime", PB_TIME, P), FI32(4, "active", O), FI32(5, "succeeded", O),
    FI32(6, "failed", O), FI32(11, "terminating", P), FS(7, "completedIndexes", O),
    FS(10, "failedIndexes", P), FM(8, "uncountedTerminatedPods", UncountedTerminatedPods, P),
    FI32(9, "ready", P));
ROOT(Job, FM(1, "metadata", ObjectMeta, O), FM(2, "spec", JobSpec, O),
     FM(3, "status", JobStatus, O));

/* The field schema of every kind kroll serves, as of Kubernetes 1.32: one table row per Go
 * struct field (JSON name, value kind, shape, nested type). The walker below uses it for
 * strict unknown-field checks and for the JSON type checks that Go's decoder would make.
 * Rarely used volume sources and raw extensions are free-form (RK_ANY). */
#include "resources/res-int.h"

#include <stdio.h>
#include <string.h>

#include "core/jx.h"

#define F_S(n) {n, RK_STR, RS_ONE, NULL}
#define F_I(n) {n, RK_INT, RS_ONE, NULL}
#define F_L(n) {n, RK_I64, RS_ONE, NULL}
#define F_B(n) {n, RK_BOOL, RS_ONE, NULL}
#define F_IOS(n) {n, RK_IOS, RS_ONE, NULL}
#define F_Q(n) {n, RK_QTY, RS_ONE, NULL}
#define F_ANY(n) {n, RK_ANY, RS_ONE, NULL}
#define F_O(n, t) {n, RK_OBJ, RS_ONE, &t}
#define F_LO(n, t) {n, RK_OBJ, RS_LIST, &t}
#define F_LS(n) {n, RK_STR, RS_LIST, NULL}
#define F_LL(n) {n, RK_I64, RS_LIST, NULL}
#define F_MS(n) {n, RK_STR, RS_MAP, NULL}
#define F_MQ(n) {n, RK_QTY, RS_MAP, NULL}
#define F_END {NULL, 0, 0, NULL}
#define TYPE(var, gname, ...)                                                                   \
    static const struct res_field var##_f[] = {__VA_ARGS__, F_END};                            \
    static const struct res_type var = {gname, var##_f}
#define KIND(var, gname, ...)                                                                   \
    static const struct res_field var##_f[] = {F_S("apiVersion"), F_S("kind"), __VA_ARGS__,    \
                                               F_END};                                         \
    const struct res_type var = {gname, var##_f}

/* ---- meta/v1 ---- */
TYPE(t_ownerref, "OwnerReference", F_S("apiVersion"), F_S("kind"), F_S("name"), F_S("uid"),
     F_B("controller"), F_B("blockOwnerDeletion"));
TYPE(t_mfe, "ManagedFieldsEntry", F_S("manager"), F_S("operation"), F_S("apiVersion"),
     F_S("time"), F_S("fieldsType"), F_ANY("fieldsV1"), F_S("subresource"));
TYPE(t_meta, "ObjectMeta", F_S("name"), F_S("generateName"), F_S("namespace"), F_S("selfLink"),
     F_S("uid"), F_S("resourceVersion"), F_L("generation"), F_S("creationTimestamp"),
     F_S("deletionTimestamp"), F_L("deletionGracePeriodSeconds"), F_MS("labels"),
     F_MS("annotations"), F_LO("ownerReferences", t_ownerref), F_LS("finalizers"),
     F_LO("managedFields", t_mfe));
TYPE(t_lsreq, "LabelSelectorRequirement", F_S("key"), F_S("operator"), F_LS("values"));
TYPE(t_selector, "LabelSelector", F_MS("matchLabels"), F_LO("matchExpressions", t_lsreq));
TYPE(t_mcond, "Condition", F_S("type"), F_S("status"), F_L("observedGeneration"),
     F_S("lastTransitionTime"), F_S("reason"), F_S("message"));
TYPE(t_precond, "Preconditions", F_S("uid"), F_S("resourceVersion"));
KIND(res__t_deleteoptions, "DeleteOptions", F_L("gracePeriodSeconds"),
     F_O("preconditions", t_precond), F_B("orphanDependents"), F_S("propagationPolicy"),
     F_LS("dryRun"), F_B("ignoreStoreReadErrorWithClusterBreakingPotential"));

/* ---- core/v1 building blocks ---- */
TYPE(t_localref, "LocalObjectReference", F_S("name"));
TYPE(t_objref, "ObjectReference", F_S("kind"), F_S("namespace"), F_S("name"), F_S("uid"),
     F_S("apiVersion"), F_S("resourceVersion"), F_S("fieldPath"));
TYPE(t_fieldsel, "ObjectFieldSelector", F_S("apiVersion"), F_S("fieldPath"));
TYPE(t_resfieldsel, "ResourceFieldSelector", F_S("containerName"), F_S("resource"),
     F_Q("divisor"));
TYPE(t_keysel, "KeySelector", F_S("name"), F_S("key"), F_B("optional"));
TYPE(t_envsrc, "EnvVarSource", F_O("fieldRef", t_fieldsel),
     F_O("resourceFieldRef", t_resfieldsel), F_O("configMapKeyRef", t_keysel),
     F_O("secretKeyRef", t_keysel));
TYPE(t_env, "EnvVar", F_S("name"), F_S("value"), F_O("valueFrom", t_envsrc));
TYPE(t_optref, "OptionalReference", F_S("name"), F_B("optional"));
TYPE(t_envfrom, "EnvFromSource", F_S("prefix"), F_O("configMapRef", t_optref),
     F_O("secretRef", t_optref));
TYPE(t_cport, "ContainerPort", F_S("name"), F_I("hostPort"), F_I("containerPort"),
     F_S("protocol"), F_S("hostIP"));
TYPE(t_rclaim, "ResourceClaim", F_S("name"), F_S("request"));
TYPE(t_resources, "ResourceRequirements", F_MQ("limits"), F_MQ("requests"),
     F_LO("claims", t_rclaim));
TYPE(t_resizepol, "ContainerResizePolicy", F_S("resourceName"), F_S("restartPolicy"));
TYPE(t_vmount, "VolumeMount", F_S("name"), F_B("readOnly"), F_S("recursiveReadOnly"),
     F_S("mountPath"), F_S("subPath"), F_S("mountPropagation"), F_S("subPathExpr"));
TYPE(t_vdevice, "VolumeDevice", F_S("name"), F_S("devicePath"));
TYPE(t_exec, "ExecAction", F_LS("command"));
TYPE(t_header, "HTTPHeader", F_S("name"), F_S("value"));
TYPE(t_httpget, "HTTPGetAction", F_S("path"), F_IOS("port"), F_S("host"), F_S("scheme"),
     F_LO("httpHeaders", t_header));
TYPE(t_tcp, "TCPSocketAction", F_IOS("port"), F_S("host"));
TYPE(t_grpc, "GRPCAction", F_I("port"), F_S("service"));
TYPE(t_sleep, "SleepAction", F_L("seconds"));
TYPE(t_probe, "Probe", F_O("exec", t_exec), F_O("httpGet", t_httpget),
     F_O("tcpSocket", t_tcp), F_O("grpc", t_grpc), F_I("initialDelaySeconds"),
     F_I("timeoutSeconds"), F_I("periodSeconds"), F_I("successThreshold"),
     F_I("failureThreshold"), F_L("terminationGracePeriodSeconds"));
TYPE(t_handler, "LifecycleHandler", F_O("exec", t_exec), F_O("httpGet", t_httpget),
     F_O("tcpSocket", t_tcp), F_O("sleep", t_sleep));
TYPE(t_lifecycle, "Lifecycle", F_O("postStart", t_handler), F_O("preStop", t_handler));
TYPE(t_caps, "Capabilities", F_LS("add"), F_LS("drop"));
TYPE(t_selinux, "SELinuxOptions", F_S("user"), F_S("role"), F_S("type"), F_S("level"));
TYPE(t_winopts, "WindowsSecurityContextOptions", F_S("gmsaCredentialSpecName"),
     F_S("gmsaCredentialSpec"), F_S("runAsUserName"), F_B("hostProcess"));
TYPE(t_profile, "SeccompProfile", F_S("type"), F_S("localhostProfile"));
TYPE(t_secctx, "SecurityContext", F_O("capabilities", t_caps), F_B("privileged"),
     F_O("seLinuxOptions", t_selinux), F_O("windowsOptions", t_winopts), F_L("runAsUser"),
     F_L("runAsGroup"), F_B("runAsNonRoot"), F_B("readOnlyRootFilesystem"),
     F_B("allowPrivilegeEscalation"), F_S("procMount"), F_O("seccompProfile", t_profile),
     F_O("appArmorProfile", t_profile));
TYPE(t_sysctl, "Sysctl", F_S("name"), F_S("value"));
TYPE(t_podsecctx, "PodSecurityContext", F_O("seLinuxOptions", t_selinux),
     F_O("windowsOptions", t_winopts), F_L("runAsUser"), F_L("runAsGroup"),
     F_B("runAsNonRoot"), F_LL("supplementalGroups"), F_S("supplementalGroupsPolicy"),
     F_L("fsGroup"), F_LO("sysctls", t_sysctl), F_S("fsGroupChangePolicy"),
     F_O("seccompProfile", t_profile), F_O("appArmorProfile", t_profile),
     F_S("seLinuxChangePolicy"));

#define CONTAINER_FIELDS                                                                        \
    F_S("name"), F_S("image"), F_LS("command"), F_LS("args"), F_S("workingDir"),                \
        F_LO("ports", t_cport), F_LO("envFrom", t_envfrom), F_LO("env", t_env),                 \
        F_O("resources", t_resources), F_LO("resizePolicy", t_resizepol),                       \
        F_S("restartPolicy"), F_LO("volumeMounts", t_vmount),                                   \
        F_LO("volumeDevices", t_vdevice), F_O("livenessProbe", t_probe),                        \
        F_O("readinessProbe", t_probe), F_O("startupProbe", t_probe),                           \
        F_O("lifecycle", t_lifecycle), F_S("terminationMessagePath"),                           \
        F_S("terminationMessagePolicy"), F_S("imagePullPolicy"),                                \
        F_O("securityContext", t_secctx), F_B("stdin"), F_B("stdinOnce"), F_B("tty")
TYPE(t_container, "Container", CONTAINER_FIELDS);
TYPE(t_ephemeral, "EphemeralContainer", CONTAINER_FIELDS, F_S("targetContainerName"));

/* Volumes. */
TYPE(t_keypath, "KeyToPath", F_S("key"), F_S("path"), F_I("mode"));
TYPE(t_hostpath, "HostPathVolumeSource", F_S("path"), F_S("type"));
TYPE(t_emptydir, "EmptyDirVolumeSource", F_S("medium"), F_Q("sizeLimit"));
TYPE(t_secretvol, "SecretVolumeSource", F_S("secretName"), F_LO("items", t_keypath),
     F_I("defaultMode"), F_B("optional"));
TYPE(t_cmvol, "ConfigMapVolumeSource", F_S("name"), F_LO("items", t_keypath),
     F_I("defaultMode"), F_B("optional"));
TYPE(t_pvcvol, "PersistentVolumeClaimVolumeSource", F_S("claimName"), F_B("readOnly"));
TYPE(t_dfile, "DownwardAPIVolumeFile", F_S("path"), F_O("fieldRef", t_fieldsel),
     F_O("resourceFieldRef", t_resfieldsel), F_I("mode"));
TYPE(t_dapivol, "DownwardAPIVolumeSource", F_LO("items", t_dfile), F_I("defaultMode"));
TYPE(t_secretproj, "SecretProjection", F_S("name"), F_LO("items", t_keypath),
     F_B("optional"));
TYPE(t_cmproj, "ConfigMapProjection", F_S("name"), F_LO("items", t_keypath), F_B("optional"));
TYPE(t_dapiproj, "DownwardAPIProjection", F_LO("items", t_dfile));
TYPE(t_satproj, "ServiceAccountTokenProjection", F_S("audience"), F_L("expirationSeconds"),
     F_S("path"));
TYPE(t_ctbproj, "ClusterTrustBundleProjection", F_S("name"), F_S("signerName"),
     F_O("labelSelector", t_selector), F_B("optional"), F_S("path"));
TYPE(t_vproj, "VolumeProjection", F_O("secret", t_secretproj), F_O("downwardAPI", t_dapiproj),
     F_O("configMap", t_cmproj), F_O("serviceAccountToken", t_satproj),
     F_O("clusterTrustBundle", t_ctbproj));
TYPE(t_projvol, "ProjectedVolumeSource", F_LO("sources", t_vproj), F_I("defaultMode"));
TYPE(t_volume, "Volume", F_S("name"), F_O("hostPath", t_hostpath), F_O("emptyDir", t_emptydir),
     F_O("secret", t_secretvol), F_O("persistentVolumeClaim", t_pvcvol),
     F_O("configMap", t_cmvol), F_O("downwardAPI", t_dapivol), F_O("projected", t_projvol),
     F_ANY("gcePersistentDisk"), F_ANY("awsElasticBlockStore"), F_ANY("gitRepo"), F_ANY("nfs"),
     F_ANY("iscsi"), F_ANY("glusterfs"), F_ANY("rbd"), F_ANY("flexVolume"), F_ANY("cinder"),
     F_ANY("cephfs"), F_ANY("flocker"), F_ANY("fc"), F_ANY("azureFile"),
     F_ANY("vsphereVolume"), F_ANY("quobyte"), F_ANY("azureDisk"),
     F_ANY("photonPersistentDisk"), F_ANY("portworxVolume"), F_ANY("scaleIO"),
     F_ANY("storageos"), F_ANY("csi"), F_ANY("ephemeral"), F_ANY("image"));

/* Scheduling. */
TYPE(t_nsreq, "NodeSelectorRequirement", F_S("key"), F_S("operator"), F_LS("values"));
TYPE(t_nsterm, "NodeSelectorTerm", F_LO("matchExpressions", t_nsreq),
     F_LO("matchFields", t_nsreq));
TYPE(t_nodesel, "NodeSelector", F_LO("nodeSelectorTerms", t_nsterm));
TYPE(t_prefterm, "PreferredSchedulingTerm", F_I("weight"), F_O("preference", t_nsterm));
TYPE(t_nodeaff, "NodeAffinity", F_O("requiredDuringSchedulingIgnoredDuringExecution", t_nodesel),
     F_LO("preferredDuringSchedulingIgnoredDuringExecution", t_prefterm));
TYPE(t_podaffterm, "PodAffinityTerm", F_O("labelSelector", t_selector), F_LS("namespaces"),
     F_S("topologyKey"), F_O("namespaceSelector", t_selector), F_LS("matchLabelKeys"),
     F_LS("mismatchLabelKeys"));
TYPE(t_wpodaffterm, "WeightedPodAffinityTerm", F_I("weight"),
     F_O("podAffinityTerm", t_podaffterm));
TYPE(t_podaff, "PodAffinity", F_LO("requiredDuringSchedulingIgnoredDuringExecution", t_podaffterm),
     F_LO("preferredDuringSchedulingIgnoredDuringExecution", t_wpodaffterm));
TYPE(t_affinity, "Affinity", F_O("nodeAffinity", t_nodeaff), F_O("podAffinity", t_podaff),
     F_O("podAntiAffinity", t_podaff));
TYPE(t_toleration, "Toleration", F_S("key"), F_S("operator"), F_S("value"), F_S("effect"),
     F_L("tolerationSeconds"));
TYPE(t_tsc, "TopologySpreadConstraint", F_I("maxSkew"), F_S("topologyKey"),
     F_S("whenUnsatisfiable"), F_O("labelSelector", t_selector), F_I("minDomains"),
     F_S("nodeAffinityPolicy"), F_S("nodeTaintsPolicy"), F_LS("matchLabelKeys"));
TYPE(t_hostalias, "HostAlias", F_S("ip"), F_LS("hostnames"));
TYPE(t_dnsopt, "PodDNSConfigOption", F_S("name"), F_S("value"));
TYPE(t_dnsconfig, "PodDNSConfig", F_LS("nameservers"), F_LS("searches"),
     F_LO("options", t_dnsopt));
TYPE(t_gate, "PodReadinessGate", F_S("conditionType"));
TYPE(t_podos, "PodOS", F_S("name"));
TYPE(t_schedgate, "PodSchedulingGate", F_S("name"));
TYPE(t_podrclaim, "PodResourceClaim", F_S("name"), F_S("resourceClaimName"),
     F_S("resourceClaimTemplateName"));
TYPE(t_podspec, "PodSpec", F_LO("volumes", t_volume), F_LO("initContainers", t_container),
     F_LO("containers", t_container), F_LO("ephemeralContainers", t_ephemeral),
     F_S("restartPolicy"), F_L("terminationGracePeriodSeconds"), F_L("activeDeadlineSeconds"),
     F_S("dnsPolicy"), F_MS("nodeSelector"), F_S("serviceAccountName"), F_S("serviceAccount"),
     F_B("automountServiceAccountToken"), F_S("nodeName"), F_B("hostNetwork"), F_B("hostPID"),
     F_B("hostIPC"), F_B("shareProcessNamespace"), F_O("securityContext", t_podsecctx),
     F_LO("imagePullSecrets", t_localref), F_S("hostname"), F_S("subdomain"),
     F_O("affinity", t_affinity), F_S("schedulerName"), F_LO("tolerations", t_toleration),
     F_LO("hostAliases", t_hostalias), F_S("priorityClassName"), F_I("priority"),
     F_O("dnsConfig", t_dnsconfig), F_LO("readinessGates", t_gate), F_S("runtimeClassName"),
     F_B("enableServiceLinks"), F_S("preemptionPolicy"), F_MQ("overhead"),
     F_LO("topologySpreadConstraints", t_tsc), F_B("setHostnameAsFQDN"), F_O("os", t_podos),
     F_B("hostUsers"), F_LO("schedulingGates", t_schedgate),
     F_LO("resourceClaims", t_podrclaim), F_O("resources", t_resources));
TYPE(t_podtemplate, "PodTemplateSpec", F_O("metadata", t_meta), F_O("spec", t_podspec));

/* Pod status. */
TYPE(t_podcond, "PodCondition", F_S("type"), F_S("status"), F_S("lastProbeTime"),
     F_S("lastTransitionTime"), F_S("reason"), F_S("message"));
TYPE(t_ip, "PodIP", F_S("ip"));
TYPE(t_cwaiting, "ContainerStateWaiting", F_S("reason"), F_S("message"));
TYPE(t_crunning, "ContainerStateRunning", F_S("startedAt"));
TYPE(t_cterm, "ContainerStateTerminated", F_I("exitCode"), F_I("signal"), F_S("reason"),
     F_S("message"), F_S("startedAt"), F_S("finishedAt"), F_S("containerID"));
TYPE(t_cstate, "ContainerState", F_O("waiting", t_cwaiting), F_O("running", t_crunning),
     F_O("terminated", t_cterm));
TYPE(t_vmstatus, "VolumeMountStatus", F_S("name"), F_S("mountPath"), F_B("readOnly"),
     F_S("recursiveReadOnly"));
TYPE(t_cstatus, "ContainerStatus", F_S("name"), F_O("state", t_cstate),
     F_O("lastState", t_cstate), F_B("ready"), F_I("restartCount"), F_S("image"),
     F_S("imageID"), F_S("containerID"), F_B("started"), F_MQ("allocatedResources"),
     F_O("resources", t_resources), F_LO("volumeMounts", t_vmstatus), F_ANY("user"),
     F_ANY("allocatedResourcesStatus"));
TYPE(t_prcstatus, "PodResourceClaimStatus", F_S("name"), F_S("resourceClaimName"));
TYPE(t_podstatus, "PodStatus", F_S("phase"), F_LO("conditions", t_podcond), F_S("message"),
     F_S("reason"), F_S("nominatedNodeName"), F_S("hostIP"), F_LO("hostIPs", t_ip),
     F_S("podIP"), F_LO("podIPs", t_ip), F_S("startTime"),
     F_LO("initContainerStatuses", t_cstatus), F_LO("containerStatuses", t_cstatus),
     F_LO("ephemeralContainerStatuses", t_cstatus), F_S("qosClass"), F_S("resize"),
     F_LO("resourceClaimStatuses", t_prcstatus));
KIND(res__t_pod, "Pod", F_O("metadata", t_meta), F_O("spec", t_podspec),
     F_O("status", t_podstatus));

/* ---- other core/v1 kinds ---- */
TYPE(t_nsspec, "NamespaceSpec", F_LS("finalizers"));
TYPE(t_nscond, "NamespaceCondition", F_S("type"), F_S("status"), F_S("lastTransitionTime"),
     F_S("reason"), F_S("message"));
TYPE(t_nsstatus, "NamespaceStatus", F_S("phase"), F_LO("conditions", t_nscond));
KIND(res__t_namespace, "Namespace", F_O("metadata", t_meta), F_O("spec", t_nsspec),
     F_O("status", t_nsstatus));

TYPE(t_taint, "Taint", F_S("key"), F_S("value"), F_S("effect"), F_S("timeAdded"));
TYPE(t_nodespec, "NodeSpec", F_S("podCIDR"), F_LS("podCIDRs"), F_S("providerID"),
     F_B("unschedulable"), F_LO("taints", t_taint), F_ANY("configSource"), F_S("externalID"));
TYPE(t_nodecond, "NodeCondition", F_S("type"), F_S("status"), F_S("lastHeartbeatTime"),
     F_S("lastTransitionTime"), F_S("reason"), F_S("message"));
TYPE(t_nodeaddr, "NodeAddress", F_S("type"), F_S("address"));
TYPE(t_dendpoint, "DaemonEndpoint", F_I("Port"));
TYPE(t_nodeeps, "NodeDaemonEndpoints", F_O("kubeletEndpoint", t_dendpoint));
TYPE(t_swap, "NodeSwapStatus", F_L("capacity"));
TYPE(t_nodeinfo, "NodeSystemInfo", F_S("machineID"), F_S("systemUUID"), F_S("bootID"),
     F_S("kernelVersion"), F_S("osImage"), F_S("containerRuntimeVersion"),
     F_S("kubeletVersion"), F_S("kubeProxyVersion"), F_S("operatingSystem"),
     F_S("architecture"), F_O("swap", t_swap));
TYPE(t_image, "ContainerImage", F_LS("names"), F_L("sizeBytes"));
TYPE(t_attached, "AttachedVolume", F_S("name"), F_S("devicePath"));
TYPE(t_rhfeat, "NodeRuntimeHandlerFeatures", F_B("recursiveReadOnlyMounts"),
     F_B("userNamespaces"));
TYPE(t_rhandler, "NodeRuntimeHandler", F_S("name"), F_O("features", t_rhfeat));
TYPE(t_nodefeat, "NodeFeatures", F_B("supplementalGroupsPolicy"));
TYPE(t_nodestatus, "NodeStatus", F_MQ("capacity"), F_MQ("allocatable"), F_S("phase"),
     F_LO("conditions", t_nodecond), F_LO("addresses", t_nodeaddr),
     F_O("daemonEndpoints", t_nodeeps), F_O("nodeInfo", t_nodeinfo), F_LO("images", t_image),
     F_LS("volumesInUse"), F_LO("volumesAttached", t_attached), F_ANY("config"),
     F_LO("runtimeHandlers", t_rhandler), F_O("features", t_nodefeat));
KIND(res__t_node, "Node", F_O("metadata", t_meta), F_O("spec", t_nodespec),
     F_O("status", t_nodestatus));

TYPE(t_svcport, "ServicePort", F_S("name"), F_S("protocol"), F_S("appProtocol"), F_I("port"),
     F_IOS("targetPort"), F_I("nodePort"));
TYPE(t_clientip, "ClientIPConfig", F_I("timeoutSeconds"));
TYPE(t_affcfg, "SessionAffinityConfig", F_O("clientIP", t_clientip));
TYPE(t_svcspec, "ServiceSpec", F_LO("ports", t_svcport), F_MS("selector"), F_S("clusterIP"),
     F_LS("clusterIPs"), F_S("type"), F_LS("externalIPs"), F_S("sessionAffinity"),
     F_S("loadBalancerIP"), F_LS("loadBalancerSourceRanges"), F_S("externalName"),
     F_S("externalTrafficPolicy"), F_I("healthCheckNodePort"),
     F_B("publishNotReadyAddresses"), F_O("sessionAffinityConfig", t_affcfg),
     F_LS("ipFamilies"), F_S("ipFamilyPolicy"), F_B("allocateLoadBalancerNodePorts"),
     F_S("loadBalancerClass"), F_S("internalTrafficPolicy"), F_S("trafficDistribution"));
TYPE(t_portstatus, "PortStatus", F_I("port"), F_S("protocol"), F_S("error"));
TYPE(t_lbingress, "LoadBalancerIngress", F_S("ip"), F_S("hostname"), F_S("ipMode"),
     F_LO("ports", t_portstatus));
TYPE(t_lbstatus, "LoadBalancerStatus", F_LO("ingress", t_lbingress));
TYPE(t_svcstatus, "ServiceStatus", F_O("loadBalancer", t_lbstatus),
     F_LO("conditions", t_mcond));
KIND(res__t_service, "Service", F_O("metadata", t_meta), F_O("spec", t_svcspec),
     F_O("status", t_svcstatus));

TYPE(t_epaddr, "EndpointAddress", F_S("ip"), F_S("hostname"), F_S("nodeName"),
     F_O("targetRef", t_objref));
TYPE(t_epport, "EndpointPort", F_S("name"), F_I("port"), F_S("protocol"), F_S("appProtocol"));
TYPE(t_subset, "EndpointSubset", F_LO("addresses", t_epaddr),
     F_LO("notReadyAddresses", t_epaddr), F_LO("ports", t_epport));
KIND(res__t_endpoints, "Endpoints", F_O("metadata", t_meta), F_LO("subsets", t_subset));

KIND(res__t_configmap, "ConfigMap", F_O("metadata", t_meta), F_B("immutable"), F_MS("data"),
     F_MS("binaryData"));
KIND(res__t_secret, "Secret", F_O("metadata", t_meta), F_B("immutable"), F_MS("data"),
     F_MS("stringData"), F_S("type"));

TYPE(t_evsource, "EventSource", F_S("component"), F_S("host"));
TYPE(t_evseries, "EventSeries", F_I("count"), F_S("lastObservedTime"));
KIND(res__t_event, "Event", F_O("metadata", t_meta), F_O("involvedObject", t_objref),
     F_S("reason"), F_S("message"), F_O("source", t_evsource), F_S("firstTimestamp"),
     F_S("lastTimestamp"), F_I("count"), F_S("type"), F_S("eventTime"),
     F_O("series", t_evseries), F_S("action"), F_O("related", t_objref),
     F_S("reportingComponent"), F_S("reportingInstance"));
KIND(res__t_serviceaccount, "ServiceAccount", F_O("metadata", t_meta),
     F_LO("secrets", t_objref), F_LO("imagePullSecrets", t_localref),
     F_B("automountServiceAccountToken"));

/* ---- apps/v1 ---- */
TYPE(t_rollupd, "RollingUpdateDeployment", F_IOS("maxUnavailable"), F_IOS("maxSurge"));
TYPE(t_dstrategy, "DeploymentStrategy", F_S("type"), F_O("rollingUpdate", t_rollupd));
TYPE(t_dspec, "DeploymentSpec", F_I("replicas"), F_O("selector", t_selector),
     F_O("template", t_podtemplate), F_O("strategy", t_dstrategy), F_I("minReadySeconds"),
     F_I("revisionHistoryLimit"), F_B("paused"), F_I("progressDeadlineSeconds"));
TYPE(t_dcond, "DeploymentCondition", F_S("type"), F_S("status"), F_S("lastUpdateTime"),
     F_S("lastTransitionTime"), F_S("reason"), F_S("message"));
TYPE(t_dstatus, "DeploymentStatus", F_L("observedGeneration"), F_I("replicas"),
     F_I("updatedReplicas"), F_I("readyReplicas"), F_I("availableReplicas"),
     F_I("unavailableReplicas"), F_I("terminatingReplicas"), F_LO("conditions", t_dcond),
     F_I("collisionCount"));
KIND(res__t_deployment, "Deployment", F_O("metadata", t_meta), F_O("spec", t_dspec),
     F_O("status", t_dstatus));

TYPE(t_rsspec, "ReplicaSetSpec", F_I("replicas"), F_I("minReadySeconds"),
     F_O("selector", t_selector), F_O("template", t_podtemplate));
TYPE(t_rscond, "ReplicaSetCondition", F_S("type"), F_S("status"), F_S("lastTransitionTime"),
     F_S("reason"), F_S("message"));
TYPE(t_rsstatus, "ReplicaSetStatus", F_I("replicas"), F_I("fullyLabeledReplicas"),
     F_I("readyReplicas"), F_I("availableReplicas"), F_I("terminatingReplicas"),
     F_L("observedGeneration"), F_LO("conditions", t_rscond));
KIND(res__t_replicaset, "ReplicaSet", F_O("metadata", t_meta), F_O("spec", t_rsspec),
     F_O("status", t_rsstatus));

TYPE(t_dsrollupd, "RollingUpdateDaemonSet", F_IOS("maxUnavailable"), F_IOS("maxSurge"));
TYPE(t_dsstrategy, "DaemonSetUpdateStrategy", F_S("type"), F_O("rollingUpdate", t_dsrollupd));
TYPE(t_dsspec, "DaemonSetSpec", F_O("selector", t_selector), F_O("template", t_podtemplate),
     F_O("updateStrategy", t_dsstrategy), F_I("minReadySeconds"), F_I("revisionHistoryLimit"));
TYPE(t_dsstatus, "DaemonSetStatus", F_I("currentNumberScheduled"), F_I("numberMisscheduled"),
     F_I("desiredNumberScheduled"), F_I("numberReady"), F_L("observedGeneration"),
     F_I("updatedNumberScheduled"), F_I("numberAvailable"), F_I("numberUnavailable"),
     F_I("collisionCount"), F_LO("conditions", t_rscond));
KIND(res__t_daemonset, "DaemonSet", F_O("metadata", t_meta), F_O("spec", t_dsspec),
     F_O("status", t_dsstatus));

/* ---- batch/v1 ---- */
TYPE(t_jobcond, "JobCondition", F_S("type"), F_S("status"), F_S("lastProbeTime"),
     F_S("lastTransitionTime"), F_S("reason"), F_S("message"));
TYPE(t_uncounted, "UncountedTerminatedPods", F_LS("succeeded"), F_LS("failed"));
TYPE(t_jobspec, "JobSpec", F_I("parallelism"), F_I("completions"), F_L("activeDeadlineSeconds"),
     F_ANY("podFailurePolicy"), F_ANY("successPolicy"), F_I("backoffLimit"),
     F_I("backoffLimitPerIndex"), F_I("maxFailedIndexes"), F_O("selector", t_selector),
     F_B("manualSelector"), F_O("template", t_podtemplate), F_I("ttlSecondsAfterFinished"),
     F_S("completionMode"), F_B("suspend"), F_S("podReplacementPolicy"), F_S("managedBy"));
TYPE(t_jobstatus, "JobStatus", F_LO("conditions", t_jobcond), F_S("startTime"),
     F_S("completionTime"), F_I("active"), F_I("succeeded"), F_I("failed"), F_I("terminating"),
     F_S("completedIndexes"), F_S("failedIndexes"),
     F_O("uncountedTerminatedPods", t_uncounted), F_I("ready"));
KIND(res__t_job, "Job", F_O("metadata", t_meta), F_O("spec", t_jobspec),
     F_O("status", t_jobstatus));

/* ---- policy/v1, discovery.k8s.io/v1, autoscaling/v1 ---- */
TYPE(t_pdbspec, "PodDisruptionBudgetSpec", F_IOS("minAvailable"), F_O("selector", t_selector),
     F_IOS("maxUnavailable"), F_S("unhealthyPodEvictionPolicy"));
TYPE(t_pdbstatus, "PodDisruptionBudgetStatus", F_L("observedGeneration"),
     F_MS("disruptedPods"), F_I("disruptionsAllowed"), F_I("currentHealthy"),
     F_I("desiredHealthy"), F_I("expectedPods"), F_LO("conditions", t_mcond));
KIND(res__t_pdb, "PodDisruptionBudget", F_O("metadata", t_meta), F_O("spec", t_pdbspec),
     F_O("status", t_pdbstatus));
KIND(res__t_eviction, "Eviction", F_O("metadata", t_meta),
     F_O("deleteOptions", res__t_deleteoptions));

TYPE(t_epconds, "EndpointConditions", F_B("ready"), F_B("serving"), F_B("terminating"));
TYPE(t_forzone, "ForZone", F_S("name"));
TYPE(t_hints, "EndpointHints", F_LO("forZones", t_forzone), F_LO("forNodes", t_forzone));
TYPE(t_endpoint, "Endpoint", F_LS("addresses"), F_O("conditions", t_epconds),
     F_S("hostname"), F_O("targetRef", t_objref), F_MS("deprecatedTopology"),
     F_S("nodeName"), F_S("zone"), F_O("hints", t_hints));
KIND(res__t_endpointslice, "EndpointSlice", F_O("metadata", t_meta), F_S("addressType"),
     F_LO("endpoints", t_endpoint), F_LO("ports", t_epport));

TYPE(t_scalespec, "ScaleSpec", F_I("replicas"));
TYPE(t_scalestatus, "ScaleStatus", F_I("replicas"), F_S("selector"));
KIND(res__t_scale, "Scale", F_O("metadata", t_meta), F_O("spec", t_scalespec),
     F_O("status", t_scalestatus));

/* ---- autoscaling/v2 HorizontalPodAutoscaler ---- */
TYPE(t_hpa_xref, "CrossVersionObjectReference", F_S("kind"), F_S("name"), F_S("apiVersion"));
TYPE(t_hpa_target, "MetricTarget", F_S("type"), F_Q("value"), F_Q("averageValue"),
     F_I("averageUtilization"));
TYPE(t_hpa_mid, "MetricIdentifier", F_S("name"), F_O("selector", t_selector));
TYPE(t_hpa_res, "ResourceMetricSource", F_S("name"), F_O("target", t_hpa_target));
TYPE(t_hpa_cres, "ContainerResourceMetricSource", F_S("name"), F_O("target", t_hpa_target),
     F_S("container"));
TYPE(t_hpa_pods, "PodsMetricSource", F_O("metric", t_hpa_mid), F_O("target", t_hpa_target));
TYPE(t_hpa_obj, "ObjectMetricSource", F_O("describedObject", t_hpa_xref),
     F_O("target", t_hpa_target), F_O("metric", t_hpa_mid));
TYPE(t_hpa_ext, "ExternalMetricSource", F_O("metric", t_hpa_mid), F_O("target", t_hpa_target));
TYPE(t_hpa_metric, "MetricSpec", F_S("type"), F_O("object", t_hpa_obj), F_O("pods", t_hpa_pods),
     F_O("resource", t_hpa_res), F_O("containerResource", t_hpa_cres),
     F_O("external", t_hpa_ext));
TYPE(t_hpa_policy, "HPAScalingPolicy", F_S("type"), F_I("value"), F_I("periodSeconds"));
TYPE(t_hpa_rules, "HPAScalingRules", F_I("stabilizationWindowSeconds"), F_S("selectPolicy"),
     F_LO("policies", t_hpa_policy), F_Q("tolerance"));
TYPE(t_hpa_behavior, "HorizontalPodAutoscalerBehavior", F_O("scaleUp", t_hpa_rules),
     F_O("scaleDown", t_hpa_rules));
TYPE(t_hpa_spec, "HorizontalPodAutoscalerSpec", F_O("scaleTargetRef", t_hpa_xref),
     F_I("minReplicas"), F_I("maxReplicas"), F_LO("metrics", t_hpa_metric),
     F_O("behavior", t_hpa_behavior));
TYPE(t_hpa_value, "MetricValueStatus", F_Q("value"), F_Q("averageValue"),
     F_I("averageUtilization"));
TYPE(t_hpa_sres, "ResourceMetricStatus", F_S("name"), F_O("current", t_hpa_value));
TYPE(t_hpa_scres, "ContainerResourceMetricStatus", F_S("name"), F_O("current", t_hpa_value),
     F_S("container"));
TYPE(t_hpa_spods, "PodsMetricStatus", F_O("metric", t_hpa_mid), F_O("current", t_hpa_value));
TYPE(t_hpa_sobj, "ObjectMetricStatus", F_O("metric", t_hpa_mid), F_O("current", t_hpa_value),
     F_O("describedObject", t_hpa_xref));
TYPE(t_hpa_sext, "ExternalMetricStatus", F_O("metric", t_hpa_mid), F_O("current", t_hpa_value));
TYPE(t_hpa_smetric, "MetricStatus", F_S("type"), F_O("object", t_hpa_sobj),
     F_O("pods", t_hpa_spods), F_O("resource", t_hpa_sres),
     F_O("containerResource", t_hpa_scres), F_O("external", t_hpa_sext));
TYPE(t_hpa_status, "HorizontalPodAutoscalerStatus", F_L("observedGeneration"),
     F_S("lastScaleTime"), F_I("currentReplicas"), F_I("desiredReplicas"),
     F_LO("currentMetrics", t_hpa_smetric), F_LO("conditions", t_mcond));
KIND(res__t_hpa, "HorizontalPodAutoscaler", F_O("metadata", t_meta), F_O("spec", t_hpa_spec),
     F_O("status", t_hpa_status));
/* ---- argoproj.io/v1alpha1 (Argo Rollouts' types.go; routing, analysis and metadata
 * blocks are free-form here and checked by the Rollout's rules) ---- */
TYPE(t_ro_pause, "RolloutPause", F_IOS("duration"));
TYPE(t_ro_step, "CanaryStep", F_I("setWeight"), F_O("pause", t_ro_pause), F_ANY("analysis"),
     F_ANY("setCanaryScale"), F_ANY("experiment"), F_ANY("plugin"), F_ANY("setHeaderRoute"),
     F_ANY("setMirrorRoute"));
TYPE(t_ro_canary, "CanaryStrategy", F_S("canaryService"), F_S("stableService"),
     F_LO("steps", t_ro_step), F_IOS("maxSurge"), F_IOS("maxUnavailable"), F_ANY("trafficRouting"),
     F_ANY("analysis"), F_I("scaleDownDelaySeconds"), F_I("scaleDownDelayRevisionLimit"),
     F_I("abortScaleDownDelaySeconds"), F_B("dynamicStableScale"), F_ANY("canaryMetadata"),
     F_ANY("stableMetadata"), F_ANY("antiAffinity"), F_ANY("pingPong"), F_I("minPodsPerReplicaSet"),
     F_ANY("replicaProgressThreshold"));
TYPE(t_ro_bluegreen, "BlueGreenStrategy", F_S("activeService"), F_S("previewService"),
     F_B("autoPromotionEnabled"), F_I("autoPromotionSeconds"), F_I("previewReplicaCount"),
     F_I("scaleDownDelaySeconds"), F_I("scaleDownDelayRevisionLimit"),
     F_I("abortScaleDownDelaySeconds"), F_ANY("prePromotionAnalysis"),
     F_ANY("postPromotionAnalysis"), F_ANY("activeMetadata"), F_ANY("previewMetadata"),
     F_IOS("maxUnavailable"), F_ANY("antiAffinity"));
TYPE(t_ro_strategy, "RolloutStrategy", F_O("canary", t_ro_canary),
     F_O("blueGreen", t_ro_bluegreen));
TYPE(t_ro_spec, "RolloutSpec", F_I("replicas"), F_O("selector", t_selector),
     F_O("template", t_podtemplate), F_ANY("workloadRef"), F_I("minReadySeconds"),
     F_I("revisionHistoryLimit"), F_I("progressDeadlineSeconds"), F_B("progressDeadlineAbort"),
     F_B("paused"), F_S("restartAt"), F_ANY("rollbackWindow"), F_ANY("analysis"),
     F_O("strategy", t_ro_strategy));
TYPE(t_ro_pausecond, "PauseCondition", F_S("reason"), F_S("startTime"));
TYPE(t_ro_status, "RolloutStatus", F_S("phase"), F_S("message"), F_S("observedGeneration"),
     F_S("currentPodHash"), F_S("currentStepHash"), F_I("currentStepIndex"), F_S("stableRS"),
     F_LO("pauseConditions", t_ro_pausecond), F_B("controllerPause"), F_B("abort"),
     F_S("abortedAt"), F_B("promoteFull"), F_S("restartedAt"), F_I("replicas"),
     F_I("updatedReplicas"), F_I("readyReplicas"), F_I("availableReplicas"), F_I("HPAReplicas"),
     F_S("selector"), F_I("collisionCount"), F_LO("conditions", t_dcond), F_ANY("canary"),
     F_ANY("blueGreen"), F_L("workloadObservedGeneration"), F_ANY("alb"), F_ANY("albs"),
     F_ANY("duration"));
KIND(res__t_rollout, "Rollout", F_O("metadata", t_meta), F_O("spec", t_ro_spec),
     F_O("status", t_ro_status));

/* Served (listed and watched) so that Argo's kubectl plugin, which waits for an Experiment
 * informer, does not hang; kroll runs no experiments. */
/* ---- autoscaling.k8s.io/v1 VerticalPodAutoscaler (the VPA CRD's types.go) ---- */
TYPE(t_vpa_xref, "CrossVersionObjectReference", F_S("kind"), F_S("name"), F_S("apiVersion"));
TYPE(t_vpa_evreq, "EvictionRequirement", F_LS("resources"), F_S("changeRequirement"));
TYPE(t_vpa_update, "PodUpdatePolicy", F_S("updateMode"), F_I("minReplicas"),
     F_LO("evictionRequirements", t_vpa_evreq));
TYPE(t_vpa_cpol, "ContainerResourcePolicy", F_S("containerName"), F_S("mode"),
     F_MQ("minAllowed"), F_MQ("maxAllowed"), F_LS("controlledResources"),
     F_S("controlledValues"));
TYPE(t_vpa_rpol, "PodResourcePolicy", F_LO("containerPolicies", t_vpa_cpol));
TYPE(t_vpa_recommender, "VerticalPodAutoscalerRecommenderSelector", F_S("name"));
TYPE(t_vpa_spec, "VerticalPodAutoscalerSpec", F_O("targetRef", t_vpa_xref),
     F_O("updatePolicy", t_vpa_update), F_O("resourcePolicy", t_vpa_rpol),
     F_LO("recommenders", t_vpa_recommender));
TYPE(t_vpa_crec, "RecommendedContainerResources", F_S("containerName"), F_MQ("target"),
     F_MQ("lowerBound"), F_MQ("upperBound"), F_MQ("uncappedTarget"));
TYPE(t_vpa_rec, "RecommendedPodResources", F_LO("containerRecommendations", t_vpa_crec));
TYPE(t_vpa_status, "VerticalPodAutoscalerStatus", F_O("recommendation", t_vpa_rec),
     F_LO("conditions", t_mcond));
KIND(res__t_vpa, "VerticalPodAutoscaler", F_O("metadata", t_meta), F_O("spec", t_vpa_spec),
     F_O("status", t_vpa_status));

KIND(res__t_experiment, "Experiment", F_O("metadata", t_meta), F_ANY("spec"), F_ANY("status"));

/* ---- gateway.networking.k8s.io/v1 (Gateway API v1.2 types; TLS, infrastructure and the
 * filters are free-form here) ---- */
TYPE(t_gw_pref, "ParametersReference", F_S("group"), F_S("kind"), F_S("name"), F_S("namespace"));
TYPE(t_gwc_spec, "GatewayClassSpec", F_S("controllerName"), F_O("parametersRef", t_gw_pref),
     F_S("description"));
TYPE(t_gwc_status, "GatewayClassStatus", F_LO("conditions", t_mcond), F_ANY("supportedFeatures"));
KIND(res__t_gatewayclass, "GatewayClass", F_O("metadata", t_meta), F_O("spec", t_gwc_spec),
     F_O("status", t_gwc_status));
TYPE(t_gw_kind, "RouteGroupKind", F_S("group"), F_S("kind"));
TYPE(t_gw_rns, "RouteNamespaces", F_S("from"), F_O("selector", t_selector));
TYPE(t_gw_allowed, "AllowedRoutes", F_O("namespaces", t_gw_rns), F_LO("kinds", t_gw_kind));
TYPE(t_gw_listener, "Listener", F_S("name"), F_S("hostname"), F_I("port"), F_S("protocol"),
     F_ANY("tls"), F_O("allowedRoutes", t_gw_allowed));
TYPE(t_gw_addr, "GatewayAddress", F_S("type"), F_S("value"));
TYPE(t_gw_spec, "GatewaySpec", F_S("gatewayClassName"), F_LO("listeners", t_gw_listener),
     F_LO("addresses", t_gw_addr), F_ANY("infrastructure"), F_ANY("backendTLS"));
TYPE(t_gw_lstatus, "ListenerStatus", F_S("name"), F_LO("supportedKinds", t_gw_kind),
     F_I("attachedRoutes"), F_LO("conditions", t_mcond));
TYPE(t_gw_status, "GatewayStatus", F_LO("addresses", t_gw_addr), F_LO("conditions", t_mcond),
     F_LO("listeners", t_gw_lstatus));
KIND(res__t_gateway, "Gateway", F_O("metadata", t_meta), F_O("spec", t_gw_spec),
     F_O("status", t_gw_status));
TYPE(t_hr_parent, "ParentReference", F_S("group"), F_S("kind"), F_S("namespace"), F_S("name"),
     F_S("sectionName"), F_I("port"));
TYPE(t_hr_path, "HTTPPathMatch", F_S("type"), F_S("value"));
TYPE(t_hr_hdr, "HTTPHeaderMatch", F_S("type"), F_S("name"), F_S("value"));
TYPE(t_hr_match, "HTTPRouteMatch", F_O("path", t_hr_path), F_LO("headers", t_hr_hdr),
     F_LO("queryParams", t_hr_hdr), F_S("method"));
TYPE(t_hr_backend, "HTTPBackendRef", F_S("group"), F_S("kind"), F_S("name"), F_S("namespace"),
     F_I("port"), F_I("weight"), F_ANY("filters"));
TYPE(t_hr_rule, "HTTPRouteRule", F_S("name"), F_LO("matches", t_hr_match), F_ANY("filters"),
     F_LO("backendRefs", t_hr_backend), F_ANY("timeouts"), F_ANY("retry"),
     F_ANY("sessionPersistence"));
TYPE(t_hr_spec, "HTTPRouteSpec", F_LO("parentRefs", t_hr_parent), F_LS("hostnames"),
     F_LO("rules", t_hr_rule));
TYPE(t_hr_pstatus, "RouteParentStatus", F_O("parentRef", t_hr_parent), F_S("controllerName"),
     F_LO("conditions", t_mcond));
TYPE(t_hr_status, "HTTPRouteStatus", F_LO("parents", t_hr_pstatus));
KIND(res__t_httproute, "HTTPRoute", F_O("metadata", t_meta), F_O("spec", t_hr_spec),
     F_O("status", t_hr_status));

/* ---- walker ---- */

struct walk {
    json_t *unknown;
    struct err *err;
    int nbad;
    int prune; /* delete unknown fields (the walk then modifies its input) */
    const char *in_struct; /* Go struct holding the field being walked */
    char decode[512];      /* first type error worded as Go's JSON decoder words it */
};

/* Go's name for the type of one value of field f ("int32", "v1.Container"). */
static void go_elem_type(const struct res_field *f, char *out, size_t n)
{
    static const char *const names[] = {[RK_STR] = "string", [RK_INT] = "int32",
                                        [RK_I64] = "int64", [RK_BOOL] = "bool",
                                        [RK_NUM] = "float64", [RK_IOS] = "intstr.IntOrString",
                                        [RK_QTY] = "resource.Quantity", [RK_ANY] = "interface {}"};

    if (f->kind == RK_OBJ)
        snprintf(out, n, "v1.%s", f->type->name);
    else
        snprintf(out, n, "%s", f->kind < sizeof names / sizeof names[0] && names[f->kind] ?
                                   names[f->kind] : "interface {}");
}

/* Go's name for a JSON value's type in "cannot unmarshal X": numbers carry their text when
 * they are the problem (a fraction or an out-of-range integer). */
static void json_kind_name(const json_t *v, int show_number, char *out, size_t n)
{
    if (json_is_string(v))
        snprintf(out, n, "string");
    else if (json_is_integer(v) && show_number)
        snprintf(out, n, "number %lld", (long long)json_integer_value(v));
    else if (json_is_real(v) && show_number)
        snprintf(out, n, "number %g", json_real_value(v));
    else if (json_is_number(v))
        snprintf(out, n, "number");
    else if (json_is_boolean(v))
        snprintf(out, n, "bool");
    else if (json_is_array(v))
        snprintf(out, n, "array");
    else
        snprintf(out, n, "object");
}

/* Records the first type error as `json: cannot unmarshal string into Go struct field
 * DeploymentSpec.spec.replicas of type int32` (paths without list indices or map keys). */
static void walk_decode_note(struct walk *w, const char *path, const json_t *v, const char *gotype)
{
    char jk[64], gp[1024];
    size_t o = 0;
    int depth = 0;

    if (w->decode[0] || !w->in_struct)
        return;
    for (const char *p = path; *p && o < sizeof gp - 1; p++) {
        if (*p == '[')
            depth++;
        else if (*p == ']')
            depth--;
        else if (!depth)
            gp[o++] = *p;
    }
    gp[o] = 0;
    json_kind_name(v, json_is_number(v) && strncmp(gotype, "int", 3) == 0, jk, sizeof jk);
    snprintf(w->decode, sizeof w->decode,
             "json: cannot unmarshal %s into Go struct field %.64s.%.256s of type %.64s", jk,
             w->in_struct, gp, gotype);
}

static const char *vkind_name(int k)
{
    switch (k) {
    case RK_STR: return "string";
    case RK_INT: return "int32";
    case RK_I64: return "int64";
    case RK_BOOL: return "boolean";
    case RK_NUM: return "number";
    case RK_IOS: return "integer or string";
    case RK_QTY: return "quantity";
    case RK_OBJ: return "object";
    default: return "any";
    }
}

static void walk_bad_go(struct walk *w, const char *path, const json_t *v, const char *what,
                        const char *gotype)
{
    if (gotype)
        walk_decode_note(w, path, v, gotype);
    w->nbad++;
    if (w->err)
        err_field_invalid(w->err, path, v, "must be of type %s", what);
}

static void walk_bad(struct walk *w, const char *path, const json_t *v, const char *what)
{
    w->nbad++;
    if (w->err)
        err_field_invalid(w->err, path, v, "must be of type %s", what);
}

static int int_ok(const json_t *v, int k)
{
    json_int_t i;

    if (!json_is_integer(v))
        return 0;
    i = json_integer_value(v);
    return k != RK_INT || (i >= -2147483648LL && i <= 2147483647LL);
}

static void walk_type(struct walk *w, const struct res_type *t, const json_t *v, char *path,
                      size_t cap);

/* Checks one scalar-or-object value of kind k. Null is Go's zero value and always fine. */
static void walk_value(struct walk *w, const struct res_field *f, const json_t *v, char *path,
                       size_t cap)
{
    int64_t milli;
    char gt[160];

    if (json_is_null(v))
        return;
    go_elem_type(f, gt, sizeof gt);
    switch (f->kind) {
    case RK_STR:
        if (!json_is_string(v))
            walk_bad_go(w, path, v, "string", gt);
        break;
    case RK_INT:
    case RK_I64:
        if (!int_ok(v, f->kind))
            walk_bad_go(w, path, v, vkind_name(f->kind), gt);
        break;
    case RK_BOOL:
        if (!json_is_boolean(v))
            walk_bad_go(w, path, v, "boolean", gt);
        break;
    case RK_NUM:
        if (!json_is_number(v))
            walk_bad_go(w, path, v, "number", gt);
        break;
    case RK_IOS:
        if (!json_is_string(v) && !int_ok(v, RK_INT))
            walk_bad(w, path, v, "integer or string");
        break;
    case RK_QTY:
        if (json_is_number(v))
            break;
        if (!json_is_string(v) || quantity_parse_milli(json_string_value(v), &milli) < 0) {
            w->nbad++;
            if (w->err)
                err_field_invalid(w->err, path, v,
                                  "quantities must match the regular expression "
                                  "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
        }
        break;
    case RK_OBJ:
        if (!json_is_object(v))
            walk_bad_go(w, path, v, "object", gt);
        else
            walk_type(w, f->type, v, path, cap);
        break;
    default:
        break;
    }
}

static void walk_field(struct walk *w, const struct res_field *f, const json_t *v, char *path,
                       size_t cap)
{
    size_t len = strlen(path);

    if (f->shape == RS_ONE || json_is_null(v)) {
        walk_value(w, f, v, path, cap);
        return;
    }
    if (f->shape == RS_LIST) {
        size_t i;
        const json_t *e;

        if (!json_is_array(v)) {
            char gt[160] = "[]";

            go_elem_type(f, gt + 2, sizeof gt - 2);
            walk_bad_go(w, path, v, "array", gt);
            return;
        }
        json_array_foreach(v, i, e) {
            snprintf(path + len, cap - len, "[%zu]", i);
            walk_value(w, f, e, path, cap);
        }
    } else {
        const char *k;
        const json_t *e;

        if (!json_is_object(v)) {
            char gt[160] = "map[string]";

            go_elem_type(f, gt + 11, sizeof gt - 11);
            walk_bad_go(w, path, v, "object", gt);
            return;
        }
        json_object_foreach((json_t *)v, k, e) {
            snprintf(path + len, cap - len, "[%s]", k);
            walk_value(w, f, e, path, cap);
        }
    }
    path[len] = 0;
}

static void walk_type(struct walk *w, const struct res_type *t, const json_t *v, char *path,
                      size_t cap)
{
    size_t len = strlen(path);
    const char *k;
    json_t *e;
    void *tmp;

    if (!json_is_object(v)) {
        walk_bad(w, len ? path : "<root>", v, "object");
        return;
    }
    json_object_foreach_safe((json_t *)v, tmp, k, e) {
        const struct res_field *f = t->fields;

        while (f->name && strcmp(f->name, k) != 0)
            f++;
        snprintf(path + len, cap - len, "%s%s", len ? "." : "", k);
        if (!f->name) {
            if (w->unknown)
                json_array_append_new(w->unknown, json_string(path));
            if (w->prune)
                json_object_del((json_t *)v, k);
        } else if (f->kind != RK_ANY) {
            const char *outer = w->in_struct;

            w->in_struct = t->name;
            walk_field(w, f, e, path, cap);
            w->in_struct = outer;
        }
        path[len] = 0;
    }
}

int res__schema_walk(const struct res_type *t, const json_t *v, json_t *unknown,
                     struct err *err)
{
    struct walk w = {unknown, err, 0, 0, NULL, ""};
    char path[1024] = "";

    walk_type(&w, t, v, path, sizeof path);
    return w.nbad;
}

int res__schema_decode_error(const struct res_type *t, const json_t *v, char *msg, size_t n)
{
    struct walk w = {NULL, NULL, 0, 0, NULL, ""};
    char path[1024] = "";

    walk_type(&w, t, v, path, sizeof path);
    if (!w.decode[0])
        return 0;
    snprintf(msg, n, "%s", w.decode);
    return 1;
}

void res__schema_prune(const struct res_type *t, json_t *v)
{
    struct walk w = {NULL, NULL, 0, 1, NULL, ""};
    char path[1024] = "";

    walk_type(&w, t, v, path, sizeof path);
}

/* ---- argoproj.io/v1alpha1 analysis (argo-rollouts analysis_types.go) ---- */
/* Providers kroll does not run (kayenta, datadog, ...) and authentication blocks are free-form:
 * they are kept and reported by the AnalysisRun controller, not refused by the decoder. */
TYPE(t_ar_header, "WebMetricHeader", F_S("key"), F_S("value"));
TYPE(t_ar_range, "RangeQueryArgs", F_S("start"), F_S("end"), F_S("step"));
TYPE(t_ar_prom, "PrometheusMetric", F_S("address"), F_S("query"), F_ANY("authentication"),
     F_L("timeout"), F_B("insecure"), F_LO("headers", t_ar_header),
     F_O("rangeQuery", t_ar_range));
TYPE(t_ar_web, "WebMetric", F_S("method"), F_S("url"), F_LO("headers", t_ar_header),
     F_S("body"), F_L("timeoutSeconds"), F_S("jsonPath"), F_B("insecure"), F_ANY("jsonBody"),
     F_ANY("authentication"));
TYPE(t_ar_provider, "MetricProvider", F_O("prometheus", t_ar_prom), F_ANY("kayenta"),
     F_O("web", t_ar_web), F_ANY("datadog"), F_ANY("wavefront"), F_ANY("newRelic"),
     F_ANY("job"), F_ANY("cloudWatch"), F_ANY("graphite"), F_ANY("influxdb"),
     F_ANY("skywalking"), F_ANY("plugin"));
TYPE(t_ar_metric, "Metric", F_S("name"), F_S("interval"), F_S("initialDelay"), F_IOS("count"),
     F_S("successCondition"), F_S("failureCondition"), F_IOS("failureLimit"),
     F_IOS("inconclusiveLimit"), F_IOS("consecutiveErrorLimit"),
     F_IOS("consecutiveSuccessLimit"), F_O("provider", t_ar_provider));
TYPE(t_ar_secretref, "SecretKeyRef", F_S("name"), F_S("key"));
TYPE(t_ar_fieldref, "FieldRef", F_S("fieldPath"));
TYPE(t_ar_valuefrom, "ValueFrom", F_O("secretKeyRef", t_ar_secretref),
     F_S("podTemplateHashValue"), F_O("fieldRef", t_ar_fieldref));
TYPE(t_ar_arg, "Argument", F_S("name"), F_S("value"), F_O("valueFrom", t_ar_valuefrom));
TYPE(t_ar_dryrun, "DryRun", F_S("metricName"));
TYPE(t_ar_retention, "MeasurementRetention", F_S("metricName"), F_I("limit"));
TYPE(t_ar_tref, "AnalysisTemplateRef", F_S("templateName"), F_B("clusterScope"));
TYPE(t_at_spec, "AnalysisTemplateSpec", F_LO("metrics", t_ar_metric), F_LO("args", t_ar_arg),
     F_LO("dryRun", t_ar_dryrun), F_LO("measurementRetention", t_ar_retention),
     F_LO("templates", t_ar_tref));
KIND(res__t_analysistemplate, "AnalysisTemplate", F_O("metadata", t_meta),
     F_O("spec", t_at_spec));
KIND(res__t_clusteranalysistemplate, "ClusterAnalysisTemplate", F_O("metadata", t_meta),
     F_O("spec", t_at_spec));
TYPE(t_ar_ttl, "TTLStrategy", F_I("secondsAfterCompletion"), F_I("secondsAfterFailure"),
     F_I("secondsAfterSuccess"));
TYPE(t_ar_spec, "AnalysisRunSpec", F_LO("metrics", t_ar_metric), F_LO("args", t_ar_arg),
     F_B("terminate"), F_LO("dryRun", t_ar_dryrun),
     F_LO("measurementRetention", t_ar_retention), F_O("ttlStrategy", t_ar_ttl));
TYPE(t_ar_meas, "Measurement", F_S("phase"), F_S("message"), F_S("startedAt"),
     F_S("finishedAt"), F_S("value"), F_MS("metadata"), F_S("resumeAt"));
TYPE(t_ar_mresult, "MetricResult", F_S("name"), F_S("phase"), F_LO("measurements", t_ar_meas),
     F_S("message"), F_I("count"), F_I("successful"), F_I("failed"), F_I("inconclusive"),
     F_I("error"), F_I("consecutiveError"), F_B("dryRun"), F_MS("metadata"),
     F_I("consecutiveSuccess"));
TYPE(t_ar_summary, "RunSummary", F_I("count"), F_I("successful"), F_I("failed"),
     F_I("inconclusive"), F_I("error"));
TYPE(t_ar_status, "AnalysisRunStatus", F_S("phase"), F_S("message"),
     F_LO("metricResults", t_ar_mresult), F_S("startedAt"), F_O("runSummary", t_ar_summary),
     F_O("dryRunSummary", t_ar_summary), F_S("completedAt"));
KIND(res__t_analysisrun, "AnalysisRun", F_O("metadata", t_meta), F_O("spec", t_ar_spec),
     F_O("status", t_ar_status));

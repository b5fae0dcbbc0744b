/**
 * The schemas of the kinds the simulator serves (Namespace, Node, Pod, Event, Lease) and the
 * types they use, as the Kubernetes 1.32 API defines them. Types deep inside a pod spec that no
 * Loom flow touches (volume sources beyond the common ones, affinity terms, ephemeral containers,
 * resource claims) are published as opaque objects: kept as sent, not checked field by field.
 */
import { bool, gvk, int32, int64, list, mapOf, num, obj, opaque, ref, type Schema, str, strMap } from './schema.js';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const CORE = 'io.k8s.api.core.v1';
const COORD = 'io.k8s.api.coordination.v1';
const RES = 'io.k8s.apimachinery.pkg.api.resource';
const UTIL = 'io.k8s.apimachinery.pkg.util.intstr';

const m = (t: string) => ref(`${META}.${t}`);
const c = (t: string) => ref(`${CORE}.${t}`);
const quantity = ref(`${RES}.Quantity`);
const quantities = mapOf(quantity);
const intOrString = ref(`${UTIL}.IntOrString`);
const time = m('Time');

const objectMeta = obj({
  annotations: strMap, creationTimestamp: time, deletionGracePeriodSeconds: int64, deletionTimestamp: time,
  finalizers: list(str, { set: true, strategy: 'merge' }), generateName: str, generation: int64, labels: strMap,
  managedFields: list(m('ManagedFieldsEntry')), name: str, namespace: str,
  ownerReferences: list(m('OwnerReference'), { map: ['uid'], mergeKey: 'uid' }), resourceVersion: str, selfLink: str, uid: str,
}, { description: 'ObjectMeta is metadata that all persisted resources must have.' });

const meta: Record<string, Schema> = {
  [`${META}.ObjectMeta`]: objectMeta,
  [`${META}.ListMeta`]: obj({ continue: str, remainingItemCount: int64, resourceVersion: str, selfLink: str }),
  [`${META}.ManagedFieldsEntry`]: obj({ apiVersion: str, fieldsType: str, fieldsV1: m('FieldsV1'), manager: str, operation: str, subresource: str, time }),
  [`${META}.FieldsV1`]: { type: 'object', description: 'FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.' },
  [`${META}.OwnerReference`]: obj({ apiVersion: str, blockOwnerDeletion: bool, controller: bool, kind: str, name: str, uid: str }, { required: ['apiVersion', 'kind', 'name', 'uid'], atomic: true }),
  [`${META}.Time`]: { type: 'string', format: 'date-time' },
  [`${META}.MicroTime`]: { type: 'string', format: 'date-time' },
  [`${META}.LabelSelector`]: obj({ matchExpressions: list(m('LabelSelectorRequirement')), matchLabels: strMap }, { atomic: true }),
  [`${META}.LabelSelectorRequirement`]: obj({ key: str, operator: str, values: list(str) }, { required: ['key', 'operator'] }),
  [`${RES}.Quantity`]: { type: 'string', description: 'Quantity is a fixed-point representation of a number.' },
  [`${UTIL}.IntOrString`]: { type: 'string', format: 'int-or-string' },
};

const condition = (extra: Record<string, Schema> = {}) => obj({ lastTransitionTime: time, message: str, reason: str, status: str, type: str, ...extra }, { required: ['type', 'status'] });

const namespace: Record<string, Schema> = {
  [`${CORE}.Namespace`]: { ...obj({ apiVersion: str, kind: str, metadata: m('ObjectMeta'), spec: c('NamespaceSpec'), status: c('NamespaceStatus') }, { description: 'Namespace provides a scope for Names.' }), 'x-kubernetes-group-version-kind': gvk('', 'v1', 'Namespace') },
  [`${CORE}.NamespaceList`]: { ...obj({ apiVersion: str, items: list(c('Namespace')), kind: str, metadata: m('ListMeta') }, { required: ['items'] }), 'x-kubernetes-group-version-kind': gvk('', 'v1', 'NamespaceList') },
  [`${CORE}.NamespaceSpec`]: obj({ finalizers: list(str) }),
  [`${CORE}.NamespaceStatus`]: obj({ conditions: list(c('NamespaceCondition'), { map: ['type'], mergeKey: 'type' }), phase: str }),
  [`${CORE}.NamespaceCondition`]: condition(),
};

const node: Record<string, Schema> = {
  [`${CORE}.Node`]: { ...obj({ apiVersion: str, kind: str, metadata: m('ObjectMeta'), spec: c('NodeSpec'), status: c('NodeStatus') }, { description: 'Node is a worker node in Kubernetes.' }), 'x-kubernetes-group-version-kind': gvk('', 'v1', 'Node') },
  [`${CORE}.NodeList`]: { ...obj({ apiVersion: str, items: list(c('Node')), kind: str, metadata: m('ListMeta') }, { required: ['items'] }), 'x-kubernetes-group-version-kind': gvk('', 'v1', 'NodeList') },
  [`${CORE}.NodeSpec`]: obj({
    configSource: opaque('NodeConfigSource'), externalID: str, podCIDR: str, podCIDRs: list(str, { set: true, strategy: 'merge' }),
    providerID: str, taints: list(c('Taint')), unschedulable: bool,
  }),
  [`${CORE}.Taint`]: obj({ effect: str, key: str, timeAdded: time, value: str }, { required: ['key', 'effect'] }),
  [`${CORE}.NodeStatus`]: obj({
    addresses: list(c('NodeAddress'), { map: ['type'], mergeKey: 'type' }), allocatable: quantities, capacity: quantities,
    conditions: list(c('NodeCondition'), { map: ['type'], mergeKey: 'type' }), config: opaque('NodeConfigStatus'),
    daemonEndpoints: c('NodeDaemonEndpoints'), features: obj({ supplementalGroupsPolicy: bool }), images: list(c('ContainerImage')),
    nodeInfo: c('NodeSystemInfo'), phase: str, runtimeHandlers: list(opaque('NodeRuntimeHandler')),
    volumesAttached: list(obj({ devicePath: str, name: str }, { required: ['name', 'devicePath'] })), volumesInUse: list(str),
  }),
  [`${CORE}.NodeAddress`]: obj({ address: str, type: str }, { required: ['type', 'address'] }),
  [`${CORE}.NodeCondition`]: condition({ lastHeartbeatTime: time }),
  [`${CORE}.NodeDaemonEndpoints`]: obj({ kubeletEndpoint: obj({ Port: int32 }, { required: ['Port'] }) }),
  [`${CORE}.ContainerImage`]: obj({ names: list(str), sizeBytes: int64 }),
  [`${CORE}.NodeSystemInfo`]: obj({
    architecture: str, bootID: str, containerRuntimeVersion: str, kernelVersion: str, kubeProxyVersion: str, kubeletVersion: str,
    machineID: str, operatingSystem: str, osImage: str, swap: obj({ capacity: int64 }), systemUUID: str,
  }, { required: ['machineID', 'systemUUID', 'bootID', 'kernelVersion', 'osImage', 'containerRuntimeVersion', 'kubeletVersion', 'kubeProxyVersion', 'operatingSystem', 'architecture'] }),
};

const keyRef = (name: string) => obj({ key: str, name: str, optional: bool }, { required: ['key'], atomic: true });
const container = (extra: Record<string, Schema> = {}) => obj({
  args: list(str), command: list(str), env: list(c('EnvVar'), { map: ['name'], mergeKey: 'name' }), envFrom: list(c('EnvFromSource')),
  image: str, imagePullPolicy: str, lifecycle: c('Lifecycle'), livenessProbe: c('Probe'), name: str,
  ports: list(c('ContainerPort'), { map: ['containerPort', 'protocol'], mergeKey: 'containerPort' }), readinessProbe: c('Probe'),
  resizePolicy: list(obj({ resourceName: str, restartPolicy: str }, { required: ['resourceName', 'restartPolicy'] })),
  resources: c('ResourceRequirements'), restartPolicy: str, securityContext: c('SecurityContext'), startupProbe: c('Probe'),
  stdin: bool, stdinOnce: bool, terminationMessagePath: str, terminationMessagePolicy: str, tty: bool,
  volumeDevices: list(obj({ devicePath: str, name: str }, { required: ['name', 'devicePath'] }), { map: ['devicePath'], mergeKey: 'devicePath' }),
  volumeMounts: list(c('VolumeMount'), { map: ['mountPath'], mergeKey: 'mountPath' }), workingDir: str, ...extra,
}, { required: ['name'] });

const pod: Record<string, Schema> = {
  [`${CORE}.Pod`]: { ...obj({ apiVersion: str, kind: str, metadata: m('ObjectMeta'), spec: c('PodSpec'), status: c('PodStatus') }, { description: 'Pod is a collection of containers that can run on a host.' }), 'x-kubernetes-group-version-kind': gvk('', 'v1', 'Pod') },
  [`${CORE}.PodList`]: { ...obj({ apiVersion: str, items: list(c('Pod')), kind: str, metadata: m('ListMeta') }, { required: ['items'] }), 'x-kubernetes-group-version-kind': gvk('', 'v1', 'PodList') },
  [`${CORE}.Binding`]: { ...obj({ apiVersion: str, kind: str, metadata: m('ObjectMeta'), target: c('ObjectReference') }, { required: ['target'] }), 'x-kubernetes-group-version-kind': gvk('', 'v1', 'Binding') },
  [`${CORE}.PodSpec`]: obj({
    activeDeadlineSeconds: int64, affinity: opaque('Affinity'), automountServiceAccountToken: bool,
    containers: list(c('Container'), { map: ['name'], mergeKey: 'name' }), dnsConfig: c('PodDNSConfig'), dnsPolicy: str,
    enableServiceLinks: bool, ephemeralContainers: list(opaque('EphemeralContainer'), { map: ['name'], mergeKey: 'name' }),
    hostAliases: list(obj({ hostnames: list(str), ip: str }, { required: ['ip'] }), { map: ['ip'], mergeKey: 'ip' }), hostIPC: bool, hostNetwork: bool,
    hostPID: bool, hostUsers: bool, hostname: str, imagePullSecrets: list(c('LocalObjectReference'), { map: ['name'], mergeKey: 'name' }),
    initContainers: list(c('Container'), { map: ['name'], mergeKey: 'name' }), nodeName: str, nodeSelector: { ...strMap, 'x-kubernetes-map-type': 'atomic' },
    os: obj({ name: str }, { required: ['name'] }), overhead: quantities, preemptionPolicy: str, priority: int32, priorityClassName: str,
    readinessGates: list(obj({ conditionType: str }, { required: ['conditionType'] })), resourceClaims: list(opaque('PodResourceClaim'), { map: ['name'], mergeKey: 'name', strategy: 'merge,retainKeys' }),
    resources: c('ResourceRequirements'), restartPolicy: str, runtimeClassName: str, schedulerName: str,
    schedulingGates: list(obj({ name: str }, { required: ['name'] }), { map: ['name'], mergeKey: 'name' }), securityContext: c('PodSecurityContext'),
    serviceAccount: str, serviceAccountName: str, setHostnameAsFQDN: bool, shareProcessNamespace: bool, subdomain: str,
    terminationGracePeriodSeconds: int64, tolerations: list(c('Toleration')),
    topologySpreadConstraints: list(c('TopologySpreadConstraint'), { map: ['topologyKey', 'whenUnsatisfiable'], mergeKey: 'topologyKey' }),
    volumes: list(c('Volume'), { map: ['name'], mergeKey: 'name', strategy: 'merge,retainKeys' }),
  }, { required: ['containers'] }),
  [`${CORE}.Container`]: container(),
  [`${CORE}.EnvVar`]: obj({ name: str, value: str, valueFrom: c('EnvVarSource') }, { required: ['name'] }),
  [`${CORE}.EnvVarSource`]: obj({
    configMapKeyRef: keyRef('ConfigMapKeySelector'), fieldRef: obj({ apiVersion: str, fieldPath: str }, { required: ['fieldPath'], atomic: true }),
    resourceFieldRef: obj({ containerName: str, divisor: quantity, resource: str }, { required: ['resource'], atomic: true }), secretKeyRef: keyRef('SecretKeySelector'),
  }),
  [`${CORE}.EnvFromSource`]: obj({ configMapRef: obj({ name: str, optional: bool }), prefix: str, secretRef: obj({ name: str, optional: bool }) }),
  [`${CORE}.ContainerPort`]: obj({ containerPort: int32, hostIP: str, hostPort: int32, name: str, protocol: str }, { required: ['containerPort'] }),
  [`${CORE}.ResourceRequirements`]: obj({ claims: list(obj({ name: str, request: str }, { required: ['name'] }), { map: ['name'] }), limits: quantities, requests: quantities }),
  [`${CORE}.VolumeMount`]: obj({ mountPath: str, mountPropagation: str, name: str, readOnly: bool, recursiveReadOnly: str, subPath: str, subPathExpr: str }, { required: ['name', 'mountPath'] }),
  [`${CORE}.Probe`]: obj({
    exec: c('ExecAction'), failureThreshold: int32, grpc: obj({ port: int32, service: str }, { required: ['port'] }), httpGet: c('HTTPGetAction'),
    initialDelaySeconds: int32, periodSeconds: int32, successThreshold: int32, tcpSocket: c('TCPSocketAction'), terminationGracePeriodSeconds: int64, timeoutSeconds: int32,
  }),
  [`${CORE}.ExecAction`]: obj({ command: list(str) }),
  [`${CORE}.HTTPGetAction`]: obj({ host: str, httpHeaders: list(obj({ name: str, value: str }, { required: ['name', 'value'] })), path: str, port: intOrString, scheme: str }, { required: ['port'] }),
  [`${CORE}.TCPSocketAction`]: obj({ host: str, port: intOrString }, { required: ['port'] }),
  [`${CORE}.Lifecycle`]: obj({ postStart: c('LifecycleHandler'), preStop: c('LifecycleHandler'), stopSignal: str }),
  [`${CORE}.LifecycleHandler`]: obj({ exec: c('ExecAction'), httpGet: c('HTTPGetAction'), sleep: obj({ seconds: int64 }, { required: ['seconds'] }), tcpSocket: c('TCPSocketAction') }),
  [`${CORE}.SecurityContext`]: obj({
    allowPrivilegeEscalation: bool, appArmorProfile: opaque('AppArmorProfile'), capabilities: obj({ add: list(str), drop: list(str) }), privileged: bool, procMount: str,
    readOnlyRootFilesystem: bool, runAsGroup: int64, runAsNonRoot: bool, runAsUser: int64, seLinuxOptions: opaque('SELinuxOptions'),
    seccompProfile: obj({ localhostProfile: str, type: str }, { required: ['type'] }), windowsOptions: opaque('WindowsSecurityContextOptions'),
  }),
  [`${CORE}.PodSecurityContext`]: obj({
    appArmorProfile: opaque('AppArmorProfile'), fsGroup: int64, fsGroupChangePolicy: str, runAsGroup: int64, runAsNonRoot: bool, runAsUser: int64,
    seLinuxChangePolicy: str, seLinuxOptions: opaque('SELinuxOptions'), seccompProfile: obj({ localhostProfile: str, type: str }, { required: ['type'] }),
    supplementalGroups: list(int64), supplementalGroupsPolicy: str, sysctls: list(obj({ name: str, value: str }, { required: ['name', 'value'] })),
    windowsOptions: opaque('WindowsSecurityContextOptions'),
  }),
  [`${CORE}.PodDNSConfig`]: obj({ nameservers: list(str), options: list(obj({ name: str, value: str })), searches: list(str) }),
  [`${CORE}.LocalObjectReference`]: obj({ name: str }, { atomic: true }),
  [`${CORE}.Toleration`]: obj({ effect: str, key: str, operator: str, tolerationSeconds: int64, value: str }),
  [`${CORE}.TopologySpreadConstraint`]: obj({
    labelSelector: m('LabelSelector'), matchLabelKeys: list(str), maxSkew: int32, minDomains: int32, nodeAffinityPolicy: str,
    nodeTaintsPolicy: str, topologyKey: str, whenUnsatisfiable: str,
  }, { required: ['maxSkew', 'topologyKey', 'whenUnsatisfiable'] }),
  [`${CORE}.Volume`]: obj({
    name: str, configMap: obj({ defaultMode: int32, items: list(obj({ key: str, mode: int32, path: str }, { required: ['key', 'path'] })), name: str, optional: bool }),
    emptyDir: obj({ medium: str, sizeLimit: quantity }), hostPath: obj({ path: str, type: str }, { required: ['path'] }),
    persistentVolumeClaim: obj({ claimName: str, readOnly: bool }, { required: ['claimName'] }),
    secret: obj({ defaultMode: int32, items: list(obj({ key: str, mode: int32, path: str }, { required: ['key', 'path'] })), optional: bool, secretName: str }),
    projected: opaque('ProjectedVolumeSource'), downwardAPI: opaque('DownwardAPIVolumeSource'), csi: opaque('CSIVolumeSource'),
    ephemeral: opaque('EphemeralVolumeSource'), image: opaque('ImageVolumeSource'), nfs: opaque('NFSVolumeSource'),
  }, { required: ['name'] }),
  [`${CORE}.PodStatus`]: obj({
    conditions: list(c('PodCondition'), { map: ['type'], mergeKey: 'type' }), containerStatuses: list(c('ContainerStatus')),
    ephemeralContainerStatuses: list(c('ContainerStatus')), hostIP: str, hostIPs: list(obj({ ip: str }, { required: ['ip'] }), { map: ['ip'], mergeKey: 'ip' }),
    initContainerStatuses: list(c('ContainerStatus')), message: str, nominatedNodeName: str, observedGeneration: int64, phase: str,
    podIP: str, podIPs: list(obj({ ip: str }, { required: ['ip'] }), { map: ['ip'], mergeKey: 'ip' }), qosClass: str, reason: str,
    resize: str, resourceClaimStatuses: list(opaque('PodResourceClaimStatus'), { map: ['name'], mergeKey: 'name', strategy: 'merge,retainKeys' }), startTime: time,
  }),
  [`${CORE}.PodCondition`]: condition({ lastProbeTime: time, observedGeneration: int64 }),
  [`${CORE}.ContainerStatus`]: obj({
    allocatedResources: quantities, allocatedResourcesStatus: list(opaque('ResourceStatus')), containerID: str, image: str, imageID: str,
    lastState: c('ContainerState'), name: str, ready: bool, resources: c('ResourceRequirements'), restartCount: int32, started: bool,
    state: c('ContainerState'), stopSignal: str, user: opaque('ContainerUser'), volumeMounts: list(opaque('VolumeMountStatus')),
  }, { required: ['name', 'ready', 'restartCount', 'image', 'imageID'] }),
  [`${CORE}.ContainerState`]: obj({
    running: obj({ startedAt: time }),
    terminated: obj({ containerID: str, exitCode: int32, finishedAt: time, message: str, reason: str, signal: int32, startedAt: time }, { required: ['exitCode'] }),
    waiting: obj({ message: str, reason: str }),
  }),
};

const event: Record<string, Schema> = {
  [`${CORE}.Event`]: { ...obj({
    action: str, apiVersion: str, count: int32, eventTime: m('MicroTime'), firstTimestamp: time, involvedObject: c('ObjectReference'), kind: str,
    lastTimestamp: time, message: str, metadata: m('ObjectMeta'), reason: str, related: c('ObjectReference'), reportingComponent: str,
    reportingInstance: str, series: obj({ count: int32, lastObservedTime: m('MicroTime') }), source: obj({ component: str, host: str }), type: str,
  }, { required: ['metadata', 'involvedObject'], description: 'Event is a report of an event somewhere in the cluster.' }), 'x-kubernetes-group-version-kind': gvk('', 'v1', 'Event') },
  [`${CORE}.EventList`]: { ...obj({ apiVersion: str, items: list(c('Event')), kind: str, metadata: m('ListMeta') }, { required: ['items'] }), 'x-kubernetes-group-version-kind': gvk('', 'v1', 'EventList') },
  [`${CORE}.ObjectReference`]: obj({ apiVersion: str, fieldPath: str, kind: str, name: str, namespace: str, resourceVersion: str, uid: str }, { atomic: true }),
};

const lease: Record<string, Schema> = {
  [`${COORD}.Lease`]: { ...obj({ apiVersion: str, kind: str, metadata: m('ObjectMeta'), spec: ref(`${COORD}.LeaseSpec`) }, { description: 'Lease defines a lease concept.' }), 'x-kubernetes-group-version-kind': gvk('coordination.k8s.io', 'v1', 'Lease') },
  [`${COORD}.LeaseList`]: { ...obj({ apiVersion: str, items: list(ref(`${COORD}.Lease`)), kind: str, metadata: m('ListMeta') }, { required: ['items'] }), 'x-kubernetes-group-version-kind': gvk('coordination.k8s.io', 'v1', 'LeaseList') },
  [`${COORD}.LeaseSpec`]: obj({
    acquireTime: m('MicroTime'), holderIdentity: str, leaseDurationSeconds: int32, leaseTransitions: int32,
    preferredHolder: str, renewTime: m('MicroTime'), strategy: str,
  }),
};

/** Status and DeleteOptions, which every group's operations answer with or take. */
const common: Record<string, Schema> = {
  [`${META}.Status`]: { ...obj({ apiVersion: str, code: int32, details: obj({ causes: list(obj({ field: str, message: str, reason: str })), group: str, kind: str, name: str, retryAfterSeconds: int32, uid: str }), kind: str, message: str, metadata: m('ListMeta'), reason: str, status: str }), 'x-kubernetes-group-version-kind': gvk('', 'v1', 'Status') },
  [`${META}.DeleteOptions`]: obj({ apiVersion: str, dryRun: list(str), gracePeriodSeconds: int64, ignoreStoreReadErrorWithClusterBreakingPotential: bool, kind: str, orphanDependents: bool, preconditions: obj({ resourceVersion: str, uid: str }), propagationPolicy: str }),
  [`${META}.Patch`]: { type: 'object', description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.' },
  [`${META}.WatchEvent`]: obj({ object: { type: 'object' }, type: str }, { required: ['type', 'object'] }),
};

export const DEFINITIONS: Readonly<Record<string, Schema>> = { ...meta, ...common, ...namespace, ...node, ...pod, ...event, ...lease };

/** The definition of each served kind, by store resource name. */
export const KIND_DEFINITION: Readonly<Record<string, string>> = {
  namespaces: `${CORE}.Namespace`, nodes: `${CORE}.Node`, pods: `${CORE}.Pod`, events: `${CORE}.Event`, leases: `${COORD}.Lease`,
};
export const LIST_DEFINITION: Readonly<Record<string, string>> = {
  namespaces: `${CORE}.NamespaceList`, nodes: `${CORE}.NodeList`, pods: `${CORE}.PodList`, events: `${CORE}.EventList`, leases: `${COORD}.LeaseList`,
};
export const STATUS_DEFINITION = `${META}.Status`;
export const DELETE_OPTIONS_DEFINITION = `${META}.DeleteOptions`;
export const PATCH_DEFINITION = `${META}.Patch`;
export const WATCH_EVENT_DEFINITION = `${META}.WatchEvent`;
export const BINDING_DEFINITION = `${CORE}.Binding`;
void num;

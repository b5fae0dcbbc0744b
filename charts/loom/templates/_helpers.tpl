{{/* Names: release "loom" gives loom-operator, loom-agent … */}}
{{- define "loom.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "loom.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "loom.operator" -}}{{ include "loom.fullname" . }}-operator{{- end -}}
{{- define "loom.agent" -}}{{ include "loom.fullname" . }}-agent{{- end -}}

{{- define "loom.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "loom.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one program: (dict "ctx" $ "component" "operator") */}}
{{- define "loom.selectorLabels" -}}
app.kubernetes.io/name: {{ include "loom.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "loom.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/*
Kubernetes Events about Nodes go to this namespace (the operator's eventNamespace; the agent
posts there too), as kubelet's do.
*/}}
{{- define "loom.eventNamespace" -}}default{{- end -}}

{{/* The leader Lease (in the release namespace). */}}
{{- define "loom.leaseName" -}}{{ include "loom.operator" . }}{{- end -}}

{{/* Container securityContext shared by both programs; the agent adds its capabilities. */}}
{{- define "loom.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Kerberos and RM CA volumes/mounts, shared by both programs. */}}
{{- define "loom.secretVolumes" -}}
{{- if .Values.kerberos.keytabSecret }}
- name: kerberos-keytab
  secret:
    secretName: {{ .Values.kerberos.keytabSecret }}
    defaultMode: 0400
{{- end }}
{{- if .Values.kerberos.krb5ConfigMap }}
- name: krb5-config
  configMap:
    name: {{ .Values.kerberos.krb5ConfigMap }}
{{- end }}
{{- end -}}

{{- define "loom.secretMounts" -}}
{{- if .Values.kerberos.keytabSecret }}
- name: kerberos-keytab
  mountPath: /etc/loom/kerberos
  readOnly: true
{{- end }}
{{- if .Values.kerberos.krb5ConfigMap }}
- name: krb5-config
  mountPath: /etc/loom/krb5
  readOnly: true
{{- end }}
{{- end -}}

{{- define "loom.secretEnv" -}}
{{- if .Values.kerberos.krb5ConfigMap }}
- name: KRB5_CONFIG
  value: /etc/loom/krb5/{{ .Values.kerberos.krb5ConfigKey }}
{{- end }}
{{- end -}}

{{/* The operator's environment, mounts and volumes: shared by the Deployment and the release Job, so
`loom release` runs with exactly the operator's settings. The settings file is given as LOOM_CONFIG,
so `loom status` exec'd in the pod reads it too (status ignores the operator's loop and listener keys). */}}
{{- define "loom.operatorEnv" -}}
- name: LOOM_CONFIG
  value: /etc/loom/loom.yaml
- name: HADOOP_CONF_DIR
  value: /etc/hadoop/conf
- name: LOOM_METRICS_ADDR
  value: "0.0.0.0:{{ .Values.operator.metricsPort }}"
- name: LOOM_IDENTITY
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: LOOM_LEASE_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: LOOM_LEASE_NAME
  value: {{ include "loom.leaseName" . }}
- name: LOOM_EVENT_NAMESPACE
  value: {{ include "loom.eventNamespace" . }}
{{- if .Values.rmCA.secretName }}
- name: LOOM_RM_CA_FILE
  value: /etc/loom/rm-ca/{{ .Values.rmCA.key }}
{{- end }}
- name: LOOM_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- with (include "loom.secretEnv" . | trim) }}{{ . | nindent 0 }}{{- end }}
{{- with .Values.operator.extraEnv }}
{{- toYaml . | nindent 0 }}
{{- end }}
{{- end -}}

{{- define "loom.operatorMounts" -}}
- name: config
  mountPath: /etc/loom/loom.yaml
  subPath: loom.yaml
  readOnly: true
- name: hadoop-conf
  mountPath: /etc/hadoop/conf
  readOnly: true
{{- if .Values.rmCA.secretName }}
- name: rm-ca
  mountPath: /etc/loom/rm-ca
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- with (include "loom.secretMounts" . | trim) }}{{ . | nindent 0 }}{{- end }}
{{- end -}}

{{- define "loom.operatorVolumes" -}}
- name: config
  configMap:
    name: {{ include "loom.operator" . }}
- name: hadoop-conf
  configMap:
    name: {{ .Values.hadoopConfig.configMap }}
{{- if .Values.rmCA.secretName }}
- name: rm-ca
  secret:
    secretName: {{ .Values.rmCA.secretName }}
{{- end }}
- name: tmp
  emptyDir:
    sizeLimit: 16Mi
{{- with (include "loom.secretVolumes" . | trim) }}{{ . | nindent 0 }}{{- end }}
{{- end -}}

{{/* Names, labels and the few decisions more than one template needs. */}}

{{- define "ssvm-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ssvm-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ssvm-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ssvm-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ssvm-operator
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "ssvm-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ssvm-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ssvm-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ssvm-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ssvm-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* "true" when the operator watches the whole cluster (no watchNamespaces). */}}
{{- define "ssvm-operator.clusterwide" -}}
{{- if not .Values.watchNamespaces -}}true{{- end -}}
{{- end -}}

{{/* Namespace of the CloudStackEndpoint created from values. */}}
{{- define "ssvm-operator.endpointNamespace" -}}
{{- if .Values.endpoint.namespace -}}
{{- .Values.endpoint.namespace -}}
{{- else if .Values.watchNamespaces -}}
{{- first .Values.watchNamespaces -}}
{{- else -}}
{{- .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{- define "ssvm-operator.endpointSecretName" -}}
{{- default (printf "%s-credentials" .Values.endpoint.name) .Values.endpoint.existingSecret -}}
{{- end -}}

{{/* Annotations on CRDs: kept on uninstall when crds.keep. */}}
{{- define "ssvm-operator.crdAnnotations" -}}
{{- if .Values.crds.keep }}
annotations:
  helm.sh/resource-policy: keep
{{- end }}
{{- end -}}

{{/* Checks of value combinations the schema cannot express clearly. */}}
{{- define "ssvm-operator.validate" -}}
{{- if and (gt (int .Values.peering.standbyReplicas) 0) (not .Values.peering.enabled) -}}
{{- fail "peering.standbyReplicas needs peering.enabled=true: standby operators find out who is active through kopf peering" -}}
{{- end -}}
{{- if .Values.endpoint.create -}}
{{- if not .Values.endpoint.url -}}
{{- fail "endpoint.create=true needs endpoint.url, e.g. https://cloud.example.com/client/api" -}}
{{- end -}}
{{- if and (not .Values.endpoint.existingSecret) (not (and .Values.endpoint.credentials.apiKey .Values.endpoint.credentials.secretKey)) -}}
{{- fail "endpoint.create=true needs endpoint.existingSecret (recommended) or both endpoint.credentials.apiKey and endpoint.credentials.secretKey" -}}
{{- end -}}
{{- if and .Values.watchNamespaces (not (has (include "ssvm-operator.endpointNamespace" .) .Values.watchNamespaces)) -}}
{{- fail (printf "endpoint.namespace %q is not in watchNamespaces: the operator would not see the endpoint" (include "ssvm-operator.endpointNamespace" .)) -}}
{{- end -}}
{{- end -}}
{{- if .Values.networkPolicy.enabled -}}
{{- if not .Values.networkPolicy.kubernetesAPI.cidrs -}}
{{- fail "networkPolicy.enabled=true needs networkPolicy.kubernetesAPI.cidrs (the API server's addresses: kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes)" -}}
{{- end -}}
{{- if not .Values.networkPolicy.cloudstack.cidrs -}}
{{- fail "networkPolicy.enabled=true needs networkPolicy.cloudstack.cidrs (the CloudStack API's addresses)" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.metrics.enabled .Values.livenessProbe.enabled (eq (int .Values.metrics.port) (int .Values.livenessProbe.port)) -}}
{{- fail (printf "metrics.port and livenessProbe.port are both %d: the metrics server and kopf's liveness endpoint need a port each" (int .Values.metrics.port)) -}}
{{- end -}}
{{- if and .Values.podDisruptionBudget.enabled (not (kindIs "invalid" .Values.podDisruptionBudget.maxUnavailable)) (not (kindIs "invalid" .Values.podDisruptionBudget.minAvailable)) -}}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both (set minAvailable: null)" -}}
{{- end -}}
{{- end -}}

{{/*
The scrape settings a ServiceMonitor endpoint and a PodMonitor podMetricsEndpoint share. honorLabels keeps
the operator's own `namespace` label (the object's namespace) instead of renaming it `exported_namespace`.
*/}}
{{- define "ssvm-operator.scrapeSettings" -}}
interval: {{ .interval }}
scrapeTimeout: {{ .scrapeTimeout }}
honorLabels: {{ .honorLabels }}
{{- with .relabelings }}
relabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .metricRelabelings }}
metricRelabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The release's prefix of every object name. */}}
{{- define "glassbox.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "glassbox.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector of one service's process: dict "root" . "service" name "process" serve|relay|consume|work */}}
{{- define "glassbox.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
glassbox.io/service: {{ .service }}
glassbox.io/process: {{ .process }}
{{- end -}}

{{- define "glassbox.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Where the processes reach a service: its ClusterIP Service. */}}
{{- define "glassbox.serviceUrl" -}}
http://{{ include "glassbox.fullname" .root }}-{{ .service }}:{{ .port }}
{{- end -}}

{{/* How a process reaches the brokers: their addresses and security (TLS, SASL from Secrets). */}}
{{- define "glassbox.kafkaEnv" -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ .Values.kafka.bootstrapServers | quote }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ .Values.kafka.securityProtocol | quote }}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol }}
- name: KAFKA_SASL_MECHANISM
  value: {{ .Values.kafka.sasl.mechanism | quote }}
- name: KAFKA_SASL_USERNAME
  value: {{ required "kafka.sasl.username is required with SASL" .Values.kafka.sasl.username | quote }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "kafka.sasl.passwordSecret.name is required with SASL" .Values.kafka.sasl.passwordSecret.name }}
      key: {{ .Values.kafka.sasl.passwordSecret.key }}
{{- end }}
{{- if .Values.kafka.tls.caSecret.name }}
- name: KAFKA_SSL_CAFILE
  value: /var/run/glassbox/kafka-ca/{{ .Values.kafka.tls.caSecret.key }}
{{- end }}
{{- end -}}

{{/* The brokers' CA, when it comes from a Secret: the volume and its mount. */}}
{{- define "glassbox.kafkaCaVolume" -}}
{{- with .Values.kafka.tls.caSecret.name }}
- name: kafka-ca
  secret:
    secretName: {{ . }}
{{- end }}
{{- end -}}

{{- define "glassbox.kafkaCaMount" -}}
{{- if .Values.kafka.tls.caSecret.name }}
- {name: kafka-ca, mountPath: /var/run/glassbox/kafka-ca, readOnly: true}
{{- end }}
{{- end -}}

{{/* The environment every process gets: the broker, where each service is, how tokens are verified. */}}
{{- define "glassbox.commonEnv" -}}
{{ include "glassbox.kafkaEnv" . }}
- name: JWT_JWKS_URL
  value: {{ printf "%s/.well-known/jwks.json" (include "glassbox.serviceUrl" (dict "root" . "service" "gateway" "port" .Values.services.gateway.port)) | quote }}
- name: JWT_ISSUER
  value: {{ .Values.jwt.issuer | quote }}
- name: JWT_AUDIENCE
  value: {{ .Values.jwt.audience | quote }}
{{- range $name, $service := .Values.services }}
- name: {{ printf "%s_URL" (upper $name) }}
  value: {{ include "glassbox.serviceUrl" (dict "root" $ "service" $name "port" $service.port) | quote }}
{{- end }}
{{- range $key, $value := .Values.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* A service's own database URL, from its Secret: dict "root" . "name" service "service" its values */}}
{{- define "glassbox.databaseEnv" -}}
- name: {{ printf "%s_DATABASE_URL" (upper .name) }}
  valueFrom:
    secretKeyRef:
      name: {{ .service.database.secretName }}
      key: {{ .service.database.secretKey | default .root.Values.database.secretKey }}
{{- end -}}

{{/* A service's own settings: plain values and values from Secrets. */}}
{{- define "glassbox.serviceEnv" -}}
{{- range $key, $value := .service.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- range $key, $ref := .service.secretEnv }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.secretName }}
      key: {{ $ref.key }}
{{- end }}
{{- end -}}

// TLS for every listener: the certificate (given, or generated for localhost) and its reloading.
export { TlsCertificates, MIN_TLS_VERSION, type TlsSource } from './tls-certificates.ts';
export { dataDirCertificate, generateLocalhostCertificate, type CertificatePair } from './localhost-certificate.ts';

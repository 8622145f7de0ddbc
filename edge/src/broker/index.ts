export { type BrokerOptions, type BrokerPorts, MqttBroker } from "./broker.js";
export { closeServer, type ListenSpec, listen } from "./listen.js";

export { closeServer, type ListenSpec, listen } from "@bitvelocity/common";
export { type BrokerOptions, type BrokerPorts, MqttBroker } from "./broker.js";

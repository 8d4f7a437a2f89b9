export { Container, ContainerModule } from 'inversify';
